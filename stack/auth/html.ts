// Server-rendered pages of the stand-in: Login V2 screens (with the data-testids the real Login V2 uses),
// the classic Login V1 page (fault `login-v1`), the console placeholder and error pages. No client script.

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f5f7;color:#1a1a2e}
main{max-width:420px;margin:64px auto;padding:32px;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
.logo{font-weight:700;letter-spacing:.12em;color:#5469d4;margin-bottom:24px}
h1{font-size:1.6rem;margin:0 0 8px}p{margin:0 0 20px;color:#555}
label{display:block;font-size:.85rem;margin:0 0 4px;color:#444}
input[type=text],input[type=password]{width:100%;height:40px;padding:0 12px;border:1px solid #ccc;border-radius:6px;font-size:1rem}
.error{margin:12px 0 0;padding:8px 12px;border-radius:6px;background:#fdecea;color:#b3261e}
.actions{display:flex;justify-content:space-between;align-items:center;margin-top:24px;gap:12px}
button{height:40px;padding:0 20px;border:0;border-radius:6px;background:#5469d4;color:#fff;font-size:1rem;cursor:pointer}
a{color:#5469d4}ul.accounts{list-style:none;padding:0;margin:0 0 16px}ul.accounts li{margin:0 0 8px}
ul.accounts button{width:100%;height:auto;padding:10px 14px;text-align:left;background:#eef0fb;color:#1a1a2e}
.chip{display:inline-block;padding:4px 10px;border-radius:12px;background:#eef0fb;margin-bottom:16px}
small{display:block;color:#666}
`;

function page(title: string, content: string, extraHead = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>${extraHead}
</head>
<body>
<main>
<div class="logo">ZITADEL</div>
${content}
</main>
</body>
</html>`;
}

function errorBox(message?: string): string {
  return message ? `<div class="error" data-testid="error" role="alert">${esc(message)}</div>` : '';
}

export function loginNamePage(o: { action: string; loginName?: string; error?: string }): string {
  return page(
    'Welcome back! | ZITADEL',
    `<h1>Welcome back!</h1>
<p>Enter your login data.</p>
<form method="post" action="${esc(o.action)}">
<label for="loginName">Loginname</label>
<input id="loginName" name="loginName" type="text" autocomplete="username" autofocus data-testid="username-text-input" value="${esc(o.loginName)}">
${errorBox(o.error)}
<div class="actions"><span></span><button type="submit" data-testid="submit-button">Continue</button></div>
</form>`,
  );
}

export function passwordPage(o: { action: string; loginName: string; back: string; error?: string }): string {
  return page(
    'Password | ZITADEL',
    `<h1>Password</h1>
<p>Enter your password.</p>
<div class="chip">${esc(o.loginName)}</div>
<form method="post" action="${esc(o.action)}">
<input type="hidden" name="loginName" value="${esc(o.loginName)}" autocomplete="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus data-testid="password-text-input">
${errorBox(o.error)}
<div class="actions"><a href="${esc(o.back)}" data-testid="back-button">Back</a><button type="submit" data-testid="submit-button">Continue</button></div>
</form>`,
  );
}

export function accountsPage(o: {
  accounts: { displayName: string; loginName: string; href: { action: string; fields: Record<string, string> } }[];
  addAnother: string;
}): string {
  const items = o.accounts
    .map(
      (a) => `<li><form method="get" action="${esc(a.href.action)}">${Object.entries(a.href.fields)
        .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
        .join('')}<button type="submit">${esc(a.displayName)} <small>${esc(a.loginName)}</small></button></form></li>`,
    )
    .join('\n');
  return page(
    'Accounts | ZITADEL',
    `<h1>Accounts</h1>
<p>Select the account you want to use.</p>
<ul class="accounts">
${items}
</ul>
<a href="${esc(o.addAnother)}" data-testid="add-another-account">Add another account</a>`,
  );
}

export function signedInPage(o: { displayName: string; loginName: string }): string {
  return page(
    `Welcome ${o.displayName}! | ZITADEL`,
    `<h1>Welcome ${esc(o.displayName)}!</h1>
<p>You are signed in.</p>
<div class="chip">${esc(o.loginName)}</div>`,
  );
}

export function errorPage(o: { title: string; message: string; detail?: string }): string {
  return page(
    `${o.title} | ZITADEL`,
    `<h1>${esc(o.title)}</h1>
${errorBox(o.message)}${o.detail ? `\n<p><small>${esc(o.detail)}</small></p>` : ''}`,
  );
}

export function logoutConfirmPage(o: { form: string; host: string }): string {
  return page(
    'Logout | ZITADEL',
    `<h1>Do you want to sign out from ${esc(o.host)}?</h1>
${o.form}
<div class="actions">
<button type="submit" form="op.logoutForm" name="logout" value="yes" data-testid="submit-button">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>
</div>`,
  );
}

export function loggedOutPage(): string {
  return page('Logged out | ZITADEL', '<h1>Logged out</h1>\n<p>You have been signed out.</p>');
}

/** The classic (V1) login: what users see when Login V2 is not required. */
export function loginV1Page(o: { action: string; loginName?: string; error?: string }): string {
  return page(
    'Login | ZITADEL',
    `<h1>Login</h1>
<p>Please enter your login data.</p>
<form method="post" action="${esc(o.action)}" id="login-form">
<label for="loginName">Login Name</label>
<input id="loginName" name="loginName" type="text" autocomplete="username" value="${esc(o.loginName)}">
<label for="password" style="margin-top:12px">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
${o.error ? `<div class="error" id="error-message" role="alert">${esc(o.error)}</div>` : ''}
<div class="actions"><span></span><button type="submit" id="submit-button">Next</button></div>
</form>`,
  );
}

export function consolePage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>ZITADEL Console</title><style>${STYLE}</style></head>
<body><main><div class="logo">ZITADEL</div><h1>Console</h1><p>Sign in to manage this ZITADEL instance.</p></main></body>
</html>`;
}
