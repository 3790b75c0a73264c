// `npm run setup [-- --headed] [--no-certutil]`: the browser set-up alone (bin/verify.ts and `npm test` run it
// first). Finds or installs a Chromium and certutil; exit 0 when ready, 2 with the command to run when it cannot.
import { ensureBrowserOrExit } from '../helpers/browser-setup.ts';

const argv = process.argv.slice(2);
await ensureBrowserOrExit({ headed: argv.includes('--headed'), certutil: !argv.includes('--no-certutil') });
