// The output guard: while installed, every write to process.stdout/stderr (every reporter's, Playwright's own,
// a test's console output relayed by the runner) goes through redactText, so a secret in an error message never
// reaches a terminal or a CI log.
import { redactText, type Secret } from '../redact.ts';

type Write = typeof process.stdout.write;

/**
 * Routes process.stdout/stderr writes through redactText until the returned function is called. Chunks are
 * redacted whole: the terminal reporters write complete lines or blocks, so a secret is not split across writes.
 */
export function guardStdio(getSecrets: () => readonly Secret[]): () => void {
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    const guarded = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      return (original as (...a: unknown[]) => boolean).call(this, redactChunk(chunk, getSecrets), ...rest);
    } as Write;
    stream.write = guarded;
    restore.push(() => {
      if (stream.write === guarded) stream.write = original;
    });
  }
  return () => restore.forEach((r) => r());
}

function redactChunk(chunk: unknown, getSecrets: () => readonly Secret[]): unknown {
  try {
    if (typeof chunk === 'string') return redactText(chunk, getSecrets());
    if (chunk instanceof Uint8Array) {
      const text = Buffer.from(chunk).toString('utf8');
      const red = redactText(text, getSecrets());
      return red === text ? chunk : Buffer.from(red, 'utf8');
    }
  } catch {
    /* never lose output because redaction failed on it */
  }
  return chunk;
}
