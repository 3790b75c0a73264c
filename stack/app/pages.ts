// Server-rendered pages with the real app's texts, headings, labels, ids and ARIA roles (shadcn/Radix
// markup patterns), plus tiny inline scripts where behaviour needs them. No bundler, no framework.
import { BOT_SPECS, BOT_TYPES, type BotSpec } from './specs.ts';
import type { GadgetBot } from './api.ts';

export interface PageUser {
  name: string;
  email: string;
  image?: string | null;
}

export interface Page {
  status: number;
  html: string;
}

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f9fafb;line-height:1.5}
a{color:inherit}
h1,h2,h3,h4,p{margin:0}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.container{max-width:1100px;margin:0 auto;padding:2rem 1rem}
.narrow{max-width:760px}
.muted{color:#64748b}
.small{font-size:.875rem}
.btn{display:inline-flex;align-items:center;justify-content:center;gap:.5rem;border-radius:.375rem;border:1px solid transparent;padding:.5rem 1rem;font-size:.875rem;font-weight:500;cursor:pointer;background:#0f172a;color:#fff;text-decoration:none}
.btn:disabled{opacity:.5;cursor:not-allowed}
.btn.outline{background:#fff;color:#0f172a;border-color:#e2e8f0}
.btn.destructive{background:#dc2626;color:#fff}
.btn.sm{padding:.25rem .75rem}
.btn.lg{padding:.75rem 1.5rem;width:100%}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:.75rem;padding:1.5rem;display:flex;flex-direction:column;gap:1rem;box-shadow:0 1px 2px rgba(0,0,0,.05)}
.card-title{font-weight:600;font-size:1.125rem}
.card-description{color:#64748b;font-size:.875rem}
.grid{display:grid;gap:1.5rem}
.cols-2{grid-template-columns:1fr 1fr}
.cols-3{grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}
.row{display:flex;justify-content:space-between;align-items:flex-start;gap:1rem;margin-bottom:1.5rem}
.actions{display:flex;gap:.5rem}
.badge{display:inline-block;border:1px solid #e2e8f0;border-radius:999px;padding:0 .6rem;font-size:.75rem;font-weight:600;text-transform:capitalize}
.label{font-size:.875rem;font-weight:500;color:#64748b}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:.6rem .75rem;border-bottom:1px solid #e2e8f0;font-size:.875rem}
th:last-child,td:last-child{text-align:right}
.table-wrap{border:1px solid #e2e8f0;border-radius:.5rem;overflow:hidden}
.empty{text-align:center;padding:3rem 0}
label{font-size:.875rem;font-weight:500}
.req{color:#dc2626}
input[type=text],input[type=number]{width:100%;padding:.5rem .75rem;border:1px solid #e2e8f0;border-radius:.375rem;font-size:.875rem}
.field{display:flex;flex-direction:column;gap:.5rem}
.error{border-radius:.375rem;background:#fef2f2;color:#991b1b;padding:.75rem;font-size:.875rem}
header.admin{background:#fff;border-bottom:1px solid #e5e7eb;box-shadow:0 1px 2px rgba(0,0,0,.05)}
header.admin .inner{max-width:1100px;margin:0 auto;padding:1rem;display:flex;justify-content:space-between;align-items:center}
header.admin nav{display:flex;gap:1rem;margin-left:1rem}
header.admin nav a{color:#4b5563;text-decoration:none;font-size:.875rem;font-weight:500;padding:.5rem .75rem}
.brand{display:flex;align-items:center}
.um{position:relative}
.um-trigger{display:flex;align-items:center;gap:.5rem;background:none;border:0;cursor:pointer;padding:.25rem;border-radius:999px}
.avatar{display:inline-flex;width:2rem;height:2rem;border-radius:999px;background:#3b82f6;color:#fff;font-size:.75rem;align-items:center;justify-content:center}
[role=menu]{position:absolute;right:0;top:calc(100% + .25rem);width:14rem;background:#fff;border:1px solid #e2e8f0;border-radius:.375rem;box-shadow:0 4px 12px rgba(0,0,0,.1);padding:.25rem;z-index:50}
[role=menuitem]{padding:.375rem .5rem;font-size:.875rem;border-radius:.25rem;cursor:pointer;outline:none}
[role=menuitem][aria-disabled=true]{color:#9ca3af;cursor:default}
[role=menuitem]:focus,[role=menuitem][data-highlighted]{background:#f1f5f9}
.signout{color:#dc2626}
[role=separator]{height:1px;background:#e2e8f0;margin:.25rem -.25rem}
.menu-label{padding:.375rem .5rem}
.select{position:relative}
[role=combobox]{width:100%;display:flex;justify-content:space-between;align-items:center;padding:.5rem .75rem;border:1px solid #e2e8f0;border-radius:.375rem;background:#fff;font-size:.875rem;cursor:pointer;text-align:left}
[role=combobox][data-placeholder] span{color:#64748b}
[role=listbox]{position:absolute;left:0;right:0;top:calc(100% + .25rem);background:#fff;border:1px solid #e2e8f0;border-radius:.375rem;box-shadow:0 4px 12px rgba(0,0,0,.1);padding:.25rem;z-index:50}
[role=option]{padding:.375rem .5rem;font-size:.875rem;border-radius:.25rem;cursor:pointer;outline:none}
[role=option]:focus,[role=option][data-highlighted]{background:#f1f5f9}
[role=option][aria-selected=true]{font-weight:600}
.overlay{position:fixed;inset:0;background:rgba(0,0,0,.5);z-index:50}
[role=dialog]{position:fixed;top:50%;left:50%;transform:translate(-50%,-50%);width:calc(100% - 2rem);max-width:32rem;background:#fff;border:1px solid #e2e8f0;border-radius:.5rem;padding:1.5rem;z-index:51;display:grid;gap:1rem}
[role=dialog] h2{font-size:1.125rem;font-weight:600}
.dialog-footer{display:flex;justify-content:flex-end;gap:.5rem}
.dialog-close{position:absolute;top:1rem;right:1rem;background:none;border:0;cursor:pointer;font-size:1rem;opacity:.7}
.hero{padding:5rem 1.5rem;text-align:center;background:linear-gradient(#0f172a,#1e293b);color:#fff}
.hero h1{font-size:3.5rem;font-weight:700}
.hero h1 .accent{color:#22d3ee}
.home{background:#0f172a;min-height:100vh;color:#e2e8f0}
.home .card{background:#1e293b;border-color:#334155;color:#e2e8f0}
.home .card h3{color:#fff;font-size:1.5rem}
.bot-img{aspect-ratio:1;border-radius:.5rem;background:linear-gradient(135deg,#1e293b,#0f172a);display:flex;align-items:center;justify-content:center;font-size:3rem;color:#475569}
.admin-login{position:fixed;top:1rem;right:1rem;padding:.5rem 1rem;border:1px solid #334155;border-radius:.5rem;background:rgba(30,41,59,.8);color:#d1d5db;text-decoration:none;font-size:.875rem;font-weight:500}
.center{min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem}
.w-md{width:100%;max-width:28rem}
[hidden]{display:none!important}
`;

function document_(body: string, opts: { nonce: string; script?: string; bodyClass?: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GadgetBot Rental Service</title>
<link rel="icon" href="data:,">
<style nonce="${esc(opts.nonce)}">${STYLE}</style>
</head>
<body${opts.bodyClass ? ` class="${esc(opts.bodyClass)}"` : ''}>
${body}
${opts.script ? `<script nonce="${esc(opts.nonce)}">${opts.script}</script>` : ''}
</body>
</html>`;
}

// ---------------------------------------------------------------------------------------------- scripts

/** Calls a procedure in oRPC's RPC wire format and throws an Error carrying the server's message. */
const RPC_SCRIPT = `
async function rpc(proc, input) {
  const res = await fetch('/api/rpc/gadgetbots/' + proc, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: input }),
  });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const msg = body && body.json && body.json.message ? body.json.message : 'Request failed (' + res.status + ')';
    throw new Error(msg);
  }
  return body ? body.json : undefined;
}
`;

/** Radix-like dropdown menu: click/Enter/Space/ArrowDown open, arrows move, Escape closes, outside click closes. */
const USER_MENU_SCRIPT = `
(function () {
  const trigger = document.getElementById('user-menu-trigger');
  const menu = document.getElementById('user-menu');
  if (!trigger || !menu) return;
  const items = () => Array.from(menu.querySelectorAll('[role=menuitem]:not([aria-disabled=true])'));
  function open(focusFirst) {
    menu.hidden = false;
    trigger.setAttribute('aria-expanded', 'true');
    trigger.setAttribute('data-state', 'open');
    menu.setAttribute('data-state', 'open');
    const list = items();
    if (focusFirst && list[0]) list[0].focus(); else menu.focus();
  }
  function close(refocus) {
    if (menu.hidden) return;
    menu.hidden = true;
    trigger.setAttribute('aria-expanded', 'false');
    trigger.setAttribute('data-state', 'closed');
    menu.setAttribute('data-state', 'closed');
    if (refocus) trigger.focus();
  }
  trigger.addEventListener('click', () => (menu.hidden ? open(false) : close(false)));
  trigger.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ' || e.key === 'ArrowDown') { e.preventDefault(); open(true); }
  });
  menu.addEventListener('keydown', (e) => {
    const list = items();
    const i = list.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); (list[(i + 1) % list.length] || list[0]).focus(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); (list[(i - 1 + list.length) % list.length] || list[0]).focus(); }
    else if (e.key === 'Home') { e.preventDefault(); list[0] && list[0].focus(); }
    else if (e.key === 'End') { e.preventDefault(); list[list.length - 1] && list[list.length - 1].focus(); }
    else if (e.key === 'Escape' || e.key === 'Tab') { e.preventDefault(); close(true); }
    else if ((e.key === 'Enter' || e.key === ' ') && i >= 0) { e.preventDefault(); list[i].click(); }
  });
  document.addEventListener('pointerdown', (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !trigger.contains(e.target)) close(false);
  });
  const signOut = document.getElementById('sign-out');
  signOut.addEventListener('click', async () => {
    try {
      await fetch('/api/auth/sign-out', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json' }, body: '{}',
      });
    } finally {
      window.location.href = '/';
    }
  });
})();
`;

const LOGIN_SCRIPT = `
(function () {
  const btn = document.getElementById('sign-in');
  const err = document.getElementById('sign-in-error');
  const redirect = btn.getAttribute('data-redirect') || '/admin';
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    btn.textContent = 'Signing in...';
    err.hidden = true;
    try {
      const res = await fetch('/api/auth/sign-in/social', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'zitadel', callbackURL: redirect }),
      });
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      if (!res.ok || !data || !data.url) throw new Error((data && data.message) || 'Failed to sign in. Please try again.');
      window.location.href = data.url;
    } catch (e) {
      err.textContent = e && e.message ? e.message : 'Failed to sign in. Please try again.';
      err.hidden = false;
      btn.disabled = false;
      btn.textContent = 'Sign in with Zitadel';
    }
  });
})();
`;

/** Radix-like Select: a combobox button opening a listbox; mouse and keyboard; mirrors into a hidden native select. */
const NEW_SCRIPT = `
(function () {
  const trigger = document.getElementById('type');
  const valueEl = document.getElementById('type-value');
  const listbox = document.getElementById('type-listbox');
  const native = document.getElementById('type-native');
  const options = Array.from(listbox.querySelectorAll('[role=option]'));
  const preview = document.getElementById('type-preview');
  let value = '';
  function select(v) {
    value = v;
    native.value = v;
    const opt = options.find((o) => o.getAttribute('data-value') === v);
    for (const o of options) {
      const on = o === opt;
      o.setAttribute('aria-selected', on ? 'true' : 'false');
      o.setAttribute('data-state', on ? 'checked' : 'unchecked');
    }
    if (opt) {
      valueEl.textContent = opt.textContent.trim();
      trigger.removeAttribute('data-placeholder');
    } else {
      valueEl.textContent = 'Select a bot type';
      trigger.setAttribute('data-placeholder', '');
    }
    for (const p of preview.querySelectorAll('[data-spec]')) p.hidden = p.getAttribute('data-spec') !== v;
    preview.hidden = !opt;
  }
  function highlight(o) {
    for (const x of options) x.removeAttribute('data-highlighted');
    if (o) { o.setAttribute('data-highlighted', ''); o.focus(); }
  }
  function open() {
    listbox.hidden = false;
    trigger.setAttribute('aria-expanded', 'true');
    trigger.setAttribute('data-state', 'open');
    highlight(options.find((o) => o.getAttribute('data-value') === value) || options[0]);
  }
  function close() {
    if (listbox.hidden) return;
    listbox.hidden = true;
    trigger.setAttribute('aria-expanded', 'false');
    trigger.setAttribute('data-state', 'closed');
    trigger.focus();
  }
  trigger.addEventListener('click', () => (listbox.hidden ? open() : close()));
  trigger.addEventListener('keydown', (e) => {
    if (['Enter', ' ', 'ArrowDown', 'ArrowUp'].includes(e.key)) { e.preventDefault(); open(); }
  });
  for (const o of options) {
    o.addEventListener('click', () => { select(o.getAttribute('data-value')); close(); });
    o.addEventListener('pointermove', () => highlight(o));
  }
  listbox.addEventListener('keydown', (e) => {
    const i = options.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); highlight(options[Math.min(i + 1, options.length - 1)]); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); highlight(options[Math.max(i - 1, 0)]); }
    else if (e.key === 'Home') { e.preventDefault(); highlight(options[0]); }
    else if (e.key === 'End') { e.preventDefault(); highlight(options[options.length - 1]); }
    else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); if (i >= 0) { select(options[i].getAttribute('data-value')); } close(); }
    else if (e.key === 'Escape' || e.key === 'Tab') { e.preventDefault(); close(); }
    else if (e.key.length === 1) {
      const k = e.key.toLowerCase();
      const hit = options.find((o) => o.textContent.trim().toLowerCase().startsWith(k));
      if (hit) highlight(hit);
    }
  });
  document.addEventListener('pointerdown', (e) => {
    if (!listbox.hidden && !listbox.contains(e.target) && !trigger.contains(e.target)) close();
  });
  native.addEventListener('change', () => select(native.value));

  const form = document.getElementById('create-form');
  const submit = document.getElementById('create-submit');
  const cancel = document.getElementById('create-cancel');
  cancel.addEventListener('click', () => { window.location.href = '/admin/products'; });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!value) { window.alert('Please select a bot type'); return; }
    submit.disabled = true; cancel.disabled = true;
    submit.textContent = 'Creating...';
    try {
      await rpc('create', { name: document.getElementById('name').value, type: value });
      window.location.href = '/admin/products';
    } catch (err) {
      submit.disabled = false; cancel.disabled = false;
      submit.textContent = 'Create GadgetBot';
      window.alert(err && err.message ? err.message : 'Failed to create gadgetbot');
    }
  });
})();
`;

/** Radix-like modal dialog: focus moves in, Escape/overlay/Cancel close, the page behind is inert. */
const DETAIL_SCRIPT = `
(function () {
  const root = document.getElementById('root');
  const id = root.getAttribute('data-id');
  const trigger = document.getElementById('delete-trigger');
  const layer = document.getElementById('delete-layer');
  const dialog = document.getElementById('delete-dialog');
  const confirmBtn = document.getElementById('delete-confirm');
  const cancelBtn = document.getElementById('delete-cancel');
  function open() {
    layer.hidden = false;
    root.setAttribute('aria-hidden', 'true');
    root.inert = true;
    trigger.setAttribute('aria-expanded', 'true');
    trigger.setAttribute('data-state', 'open');
    cancelBtn.focus();
  }
  function close() {
    if (confirmBtn.disabled) return;
    layer.hidden = true;
    root.removeAttribute('aria-hidden');
    root.inert = false;
    trigger.setAttribute('aria-expanded', 'false');
    trigger.setAttribute('data-state', 'closed');
    trigger.focus();
  }
  trigger.addEventListener('click', open);
  cancelBtn.addEventListener('click', close);
  document.getElementById('delete-close').addEventListener('click', close);
  document.getElementById('delete-overlay').addEventListener('click', close);
  dialog.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); close(); return; }
    if (e.key !== 'Tab') return;
    const f = Array.from(dialog.querySelectorAll('button:not([disabled])'));
    const i = f.indexOf(document.activeElement);
    e.preventDefault();
    f[(i + (e.shiftKey ? -1 : 1) + f.length) % f.length].focus();
  });
  confirmBtn.addEventListener('click', async () => {
    confirmBtn.disabled = true; cancelBtn.disabled = true;
    confirmBtn.textContent = 'Deleting...';
    try {
      await rpc('deleteById', { id });
      window.location.href = '/admin/products';
    } catch (err) {
      confirmBtn.disabled = false; cancelBtn.disabled = false;
      confirmBtn.textContent = 'Delete';
      window.alert(err && err.message ? err.message : 'Failed to delete gadgetbot');
    }
  });
})();
`;

const EDIT_SCRIPT = `
(function () {
  const root = document.getElementById('root');
  const id = root.getAttribute('data-id');
  const detail = '/admin/products/gadgetbots/' + encodeURIComponent(id);
  const form = document.getElementById('edit-form');
  const submit = document.getElementById('edit-submit');
  const cancel = document.getElementById('edit-cancel');
  cancel.addEventListener('click', () => { window.location.href = detail; });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true; cancel.disabled = true;
    submit.textContent = 'Updating...';
    try {
      await rpc('update', { id, data: { batteryLife: Number.parseFloat(document.getElementById('batteryLife').value) } });
      window.location.href = detail;
    } catch (err) {
      submit.disabled = false; cancel.disabled = false;
      submit.textContent = 'Update GadgetBot';
      window.alert(err && err.message ? err.message : 'Failed to update gadgetbot');
    }
  });
})();
`;

// ---------------------------------------------------------------------------------------------- pages

export function initials(name?: string | null, email?: string | null): string {
  if (name) {
    const parts = name.split(' ').filter(Boolean);
    if (parts.length >= 2) return `${parts[0]![0]}${parts[parts.length - 1]![0]}`.toUpperCase();
    return name.substring(0, 2).toUpperCase();
  }
  if (email) return email.substring(0, 2).toUpperCase();
  return 'U';
}

function botCard(spec: BotSpec): string {
  return `<div class="card">
  <div class="bot-img" aria-hidden="true">&#129302;</div>
  <h3>${esc(spec.label)}</h3>
  <p class="muted">${esc(spec.description)}</p>
  <div>
    <h4 class="small" style="color:#22d3ee;text-transform:uppercase;letter-spacing:.05em;margin-bottom:.75rem">Key Features</h4>
    <ul class="small">${spec.features.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>
  </div>
  <button type="button" class="btn outline" disabled>Coming Soon</button>
</div>`;
}

export function homePage(nonce: string): Page {
  const body = `<div class="home">
<div><a class="admin-login" href="/login?redirect=%2Fadmin">Admin Login</a></div>
<section class="hero">
  <h1><span class="accent">GadgetBot</span><span> Rentals</span></h1>
  <p style="font-size:1.5rem;margin-top:1rem">Your trusted companion bot rental service</p>
</section>
<section class="container"><div class="grid cols-3">
${BOT_TYPES.map((t) => botCard(BOT_SPECS[t])).join('\n')}
</div></section>
</div>`;
  return { status: 200, html: document_(body, { nonce }) };
}

export function loginPage(nonce: string, redirect: string): Page {
  const body = `<div class="center"><div class="card w-md">
  <div>
    <div class="card-title" style="font-size:1.5rem;font-weight:700">Sign In</div>
    <div class="card-description">Sign in to access the GadgetBot admin dashboard</div>
  </div>
  <div class="error" id="sign-in-error" role="alert" hidden></div>
  <button type="button" class="btn lg" id="sign-in" data-redirect="${esc(redirect)}">Sign in with Zitadel</button>
  <p class="muted" style="text-align:center;font-size:.75rem">By signing in, you agree to our terms of service and privacy policy.</p>
</div></div>`;
  return { status: 200, html: document_(body, { nonce, script: LOGIN_SCRIPT }) };
}

function adminLayout(nonce: string, user: PageUser, main: string, opts: { status?: number; script?: string; rootData?: string; portal?: string } = {}): Page {
  const displayName = user.name || user.email || 'User';
  const header = `<header class="admin"><div class="inner">
  <div class="brand">
    <h1 style="font-size:1.5rem;font-weight:700">GadgetBot Admin</h1>
    <nav><a href="/admin">Dashboard</a><a href="/admin/products">Products</a></nav>
  </div>
  <div class="um">
    <button type="button" class="um-trigger" id="user-menu-trigger" aria-haspopup="menu" aria-expanded="false" aria-controls="user-menu" data-state="closed">
      <span class="avatar">${esc(initials(user.name, user.email))}</span>
      <span class="small" style="font-weight:500">${esc(displayName)}</span>
    </button>
    <div role="menu" id="user-menu" aria-orientation="vertical" aria-labelledby="user-menu-trigger" data-state="closed" tabindex="-1" hidden>
      <div class="menu-label">
        <p class="small" style="font-weight:500">${esc(displayName)}</p>
        ${user.email ? `<p class="muted" style="font-size:.75rem">${esc(user.email)}</p>` : ''}
      </div>
      <div role="separator" aria-orientation="horizontal"></div>
      <div role="menuitem" aria-disabled="true" data-disabled="" tabindex="-1">Profile (Coming Soon)</div>
      <div role="menuitem" aria-disabled="true" data-disabled="" tabindex="-1">Settings (Coming Soon)</div>
      <div role="separator" aria-orientation="horizontal"></div>
      <div role="menuitem" id="sign-out" class="signout" tabindex="-1">Sign Out</div>
    </div>
  </div>
</div></header>`;
  const body = `<div id="root"${opts.rootData ?? ''}>
${header}
<main class="container">${main}</main>
</div>${opts.portal ? `\n${opts.portal}` : ''}`;
  const script = [RPC_SCRIPT, USER_MENU_SCRIPT, opts.script ?? ''].join('\n');
  return { status: opts.status ?? 200, html: document_(body, { nonce, script }) };
}

export function dashboardPage(nonce: string, user: PageUser): Page {
  const soon = (title: string, desc: string, text: string) => `<div class="card" style="opacity:.6">
  <div><div class="card-title">${title}</div><div class="card-description">${desc}</div></div>
  <p class="small muted">${text}</p>
  <button type="button" class="btn" disabled>Coming Soon</button>
</div>`;
  const main = `<div style="margin-bottom:2rem">
  <h1 style="font-size:2.25rem;font-weight:700">Admin Dashboard</h1>
  <p class="muted" style="margin-top:.5rem">Manage your GadgetBot rental service</p>
</div>
<div class="grid cols-3">
  <div class="card">
    <div><div class="card-title">Products</div><div class="card-description">Manage your GadgetBot inventory</div></div>
    <p class="small muted">View, add, edit, and manage all GadgetBot products in your rental inventory.</p>
    <a href="/admin/products"><button type="button" class="btn" style="width:100%">Manage Products</button></a>
  </div>
  ${soon('Rentals', 'Track active rentals', 'View and manage customer rentals and returns.')}
  ${soon('Customers', 'Manage customer accounts', 'View customer information and account details.')}
</div>`;
  return adminLayout(nonce, user, main);
}

const addNew = `<a href="/admin/products/gadgetbots/new"><button type="button" class="btn">Add New GadgetBot</button></a>`;

export function productsPage(nonce: string, user: PageUser, bots: GadgetBot[]): Page {
  const rows = bots
    .map((b) => {
      const href = `/admin/products/gadgetbots/${encodeURIComponent(b.id)}`;
      return `<tr>
  <td style="font-weight:500">${esc(b.name)}</td>
  <td><span class="badge">${esc(b.type)}</span></td>
  <td><span class="badge">${esc(b.status)}</span></td>
  <td>${esc(b.batteryLife)}hrs</td>
  <td>${esc(b.maxLoadCapacity)}kg</td>
  <td><span class="actions" style="justify-content:flex-end"><a href="${esc(href)}"><button type="button" class="btn outline sm">View</button></a><a href="${esc(href)}/edit"><button type="button" class="btn outline sm">Edit</button></a></span></td>
</tr>`;
    })
    .join('\n');
  const main = `<div class="row" style="align-items:center">
  <div>
    <h1 style="font-size:1.875rem;font-weight:700">GadgetBot Products</h1>
    <p class="muted" style="margin-top:.5rem">Manage your rental inventory</p>
  </div>
  ${addNew}
</div>
<div class="table-wrap"><table>
  <thead><tr><th>Name</th><th>Type</th><th>Status</th><th>Battery Life</th><th>Load Capacity</th><th>Actions</th></tr></thead>
  <tbody>${rows}</tbody>
</table></div>
${
  bots.length === 0
    ? `<div class="empty"><p class="muted" style="margin-bottom:1rem">No gadgetbots found. Create your first one to get started.</p>${addNew}</div>`
    : ''
}`;
  return adminLayout(nonce, user, main);
}

function specPreview(spec: BotSpec): string {
  return `<div data-spec="${spec.type}" hidden>
  <div class="card-title" style="text-transform:capitalize">${esc(spec.type)} Bot Specifications</div>
  <div><p class="small" style="font-weight:500">Description</p><p class="small muted">${esc(spec.description)}</p></div>
  <div class="grid cols-2">
    <div><p class="small" style="font-weight:500">Battery Life</p><p class="small muted">${spec.batteryLife} hours</p></div>
    <div><p class="small" style="font-weight:500">Max Load Capacity</p><p class="small muted">${spec.maxLoadCapacity} kg</p></div>
  </div>
  <div><p class="small" style="font-weight:500">Features</p><ul class="small muted">${spec.features.map((f) => `<li>${esc(f)}</li>`).join('')}</ul></div>
</div>`;
}

export function newPage(nonce: string, user: PageUser): Page {
  const opts = BOT_TYPES.map(
    (t) =>
      `<div role="option" id="type-option-${t}" data-value="${t}" aria-selected="false" data-state="unchecked" tabindex="-1"><span>${esc(BOT_SPECS[t].label)}</span></div>`,
  ).join('');
  const main = `<div class="narrow" style="margin:0 auto">
<div style="margin-bottom:1.5rem">
  <h1 style="font-size:1.875rem;font-weight:700">Create New GadgetBot</h1>
  <p class="muted" style="margin-top:.5rem">Add a new bot to your rental inventory</p>
</div>
<form id="create-form">
<div class="card">
  <div>
    <div class="card-title">Bot Details</div>
    <div class="card-description">Choose a bot type and give it a unique name. Specifications are automatically set based on the type.</div>
  </div>
  <div class="field">
    <label for="name">Name <span class="req">*</span></label>
    <input type="text" id="name" name="name" placeholder="e.g., CleanBot Alpha-1" required>
    <p class="small muted">Give your bot a unique identifier</p>
  </div>
  <div class="field">
    <label for="type">Bot Type <span class="req">*</span></label>
    <div class="select">
      <button type="button" role="combobox" id="type" aria-controls="type-listbox" aria-expanded="false" aria-autocomplete="none" dir="ltr" data-state="closed" data-placeholder=""><span id="type-value" style="pointer-events:none">Select a bot type</span><span aria-hidden="true">&#9662;</span></button>
      <div role="listbox" id="type-listbox" aria-labelledby="type" tabindex="-1" hidden>${opts}</div>
      <select id="type-native" name="type" aria-hidden="true" tabindex="-1" style="position:absolute;border:0;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap">
        <option value=""></option>${BOT_TYPES.map((t) => `<option value="${t}">${esc(BOT_SPECS[t].label)}</option>`).join('')}
      </select>
    </div>
    <p class="small muted">Each type has different capabilities and features</p>
  </div>
  <div class="card" id="type-preview" style="background:#f1f5f9" hidden>${BOT_TYPES.map((t) => specPreview(BOT_SPECS[t])).join('')}</div>
  <div class="actions" style="padding-top:1rem">
    <button type="submit" class="btn" id="create-submit" style="flex:1">Create GadgetBot</button>
    <button type="button" class="btn outline" id="create-cancel">Cancel</button>
  </div>
</div>
</form>
</div>`;
  return adminLayout(nonce, user, main, { script: NEW_SCRIPT });
}

function notFoundCard(): string {
  return `<div class="card">
  <div><div class="card-title">GadgetBot Not Found</div><div class="card-description">The requested gadgetbot could not be found.</div></div>
  <div><a href="/admin/products"><button type="button" class="btn">Back to Products</button></a></div>
</div>`;
}

function when(iso: string): string {
  return new Date(iso).toLocaleString('en-US', { timeZone: 'UTC' }) + ' UTC';
}

export function detailPage(nonce: string, user: PageUser, bot: GadgetBot | null): Page {
  if (!bot) return adminLayout(nonce, user, notFoundCard(), { status: 404 });
  const href = `/admin/products/gadgetbots/${encodeURIComponent(bot.id)}`;
  const main = `<div class="narrow" style="margin:0 auto">
<div class="row">
  <div>
    <h1 style="font-size:1.875rem;font-weight:700">${esc(bot.name)}</h1>
    <p class="muted" style="margin-top:.5rem">GadgetBot Details</p>
  </div>
  <div class="actions">
    <a href="${esc(href)}/edit"><button type="button" class="btn outline">Edit</button></a>
    <button type="button" class="btn destructive" id="delete-trigger" aria-haspopup="dialog" aria-expanded="false" aria-controls="delete-dialog" data-state="closed">Delete</button>
  </div>
</div>
<div class="grid">
  <div class="card">
    <div class="card-title">Basic Information</div>
    <div class="grid cols-2">
      <div><p class="label">Type</p><span class="badge">${esc(bot.type)}</span></div>
      <div><p class="label">Status</p><span class="badge">${esc(bot.status)}</span></div>
    </div>
    <div><p class="label">Description</p><p>${esc(bot.description)}</p></div>
  </div>
  <div class="card">
    <div class="card-title">Specifications</div>
    <div class="grid cols-2">
      <div><p class="label">Battery Life</p><p style="font-size:1.5rem;font-weight:700">${esc(bot.batteryLife)}<span class="small muted" style="font-weight:400;margin-left:.25rem">hours</span></p></div>
      <div><p class="label">Max Load Capacity</p><p style="font-size:1.5rem;font-weight:700">${esc(bot.maxLoadCapacity)}<span class="small muted" style="font-weight:400;margin-left:.25rem">kg</span></p></div>
    </div>
  </div>
  <div class="card">
    <div class="card-title">Features</div>
    <ul>${bot.features.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>
  </div>
  <div class="card">
    <div class="card-title">Metadata</div>
    <div class="grid cols-2">
      <div><p class="label">Created At</p><p>${esc(when(bot.createdAt))}</p></div>
      <div><p class="label">Updated At</p><p>${esc(when(bot.updatedAt))}</p></div>
    </div>
    <div><p class="label">ID</p><p style="font-family:monospace" class="small">${esc(bot.id)}</p></div>
  </div>
  <a href="/admin/products"><button type="button" class="btn outline" style="width:100%">Back to Products</button></a>
</div>
</div>`;
  const dialog = `<div id="delete-layer" hidden>
<div class="overlay" id="delete-overlay" data-state="open"></div>
<div role="dialog" id="delete-dialog" aria-modal="true" aria-labelledby="delete-title" aria-describedby="delete-description" data-state="open" tabindex="-1">
  <div>
    <h2 id="delete-title">Confirm Deletion</h2>
    <p id="delete-description" class="small muted" style="margin-top:.5rem">Are you sure you want to delete "${esc(bot.name)}"? This action cannot be undone.</p>
  </div>
  <div class="dialog-footer">
    <button type="button" class="btn outline" id="delete-cancel">Cancel</button>
    <button type="button" class="btn destructive" id="delete-confirm">Delete</button>
  </div>
  <button type="button" class="dialog-close" id="delete-close"><span aria-hidden="true">&#10005;</span><span class="sr-only">Close</span></button>
</div>
</div>`;
  return adminLayout(nonce, user, main, { script: DETAIL_SCRIPT, rootData: ` data-id="${esc(bot.id)}"`, portal: dialog });
}

export function editPage(nonce: string, user: PageUser, bot: GadgetBot | null): Page {
  if (!bot) return adminLayout(nonce, user, notFoundCard(), { status: 404 });
  const main = `<div class="narrow" style="margin:0 auto">
<div style="margin-bottom:1.5rem">
  <h1 style="font-size:1.875rem;font-weight:700">Edit ${esc(bot.name)}</h1>
  <p class="muted" style="margin-top:.5rem">Update the bot's current battery life</p>
</div>
<form id="edit-form">
<div class="card">
  <div>
    <div class="card-title">Bot Specifications</div>
    <div class="card-description">Most specifications are fixed based on bot type. You can only update the battery life to reflect the unit's current condition.</div>
  </div>
  <div class="card" style="background:#f1f5f9">
    <h3 style="font-weight:500">Fixed Specifications</h3>
    <div class="grid cols-2">
      <div><p class="label">Name</p><p>${esc(bot.name)}</p></div>
      <div><p class="label">Type</p><p style="text-transform:capitalize">${esc(bot.type)}</p></div>
    </div>
    <div><p class="label">Max Load Capacity</p><p>${esc(bot.maxLoadCapacity)} kg</p></div>
    <div><p class="label">Features</p><ul class="small">${bot.features.map((f) => `<li>${esc(f)}</li>`).join('')}</ul></div>
  </div>
  <div class="field">
    <h3 style="font-weight:500">Editable Fields</h3>
    <label for="batteryLife">Battery Life (hours) <span class="req">*</span></label>
    <input type="number" id="batteryLife" name="batteryLife" min="1" step="0.5" value="${esc(bot.batteryLife)}" required>
    <p class="small muted">Update to reflect the unit's current battery capacity</p>
  </div>
  <div class="actions" style="padding-top:1rem">
    <button type="submit" class="btn" id="edit-submit" style="flex:1">Update GadgetBot</button>
    <button type="button" class="btn outline" id="edit-cancel">Cancel</button>
  </div>
</div>
</form>
</div>`;
  return adminLayout(nonce, user, main, { script: EDIT_SCRIPT, rootData: ` data-id="${esc(bot.id)}"` });
}

export function notFoundPage(nonce: string): Page {
  const body = `<div class="center"><div style="text-align:center">
  <h1 style="font-size:2.25rem;font-weight:700">404</h1>
  <p style="margin-top:1rem;font-size:1.125rem;color:#4b5563">Page not found</p>
  <a href="/" style="margin-top:1.5rem;display:inline-block;color:#2563eb">Go back home</a>
</div></div>`;
  return { status: 404, html: document_(body, { nonce }) };
}

export function errorPage(nonce: string, status = 500): Page {
  const body = `<div class="center"><div style="text-align:center">
  <h1 style="font-size:2.25rem;font-weight:700">${status}</h1>
  <p style="margin-top:1rem;font-size:1.125rem;color:#4b5563">Internal Server Error</p>
</div></div>`;
  return { status, html: document_(body, { nonce }) };
}
