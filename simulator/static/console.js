// The chat console: draws /_sim/users/<name>/chat (HTML rendered by the simulator) and
// performs every tap through /_sim/users/<name>/perform, as the LINE app would.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { signature: '', chat: null, menuOpen: {}, quickHiddenAt: -1, busy: 0 };
const LINE_LINK = /^(https?:\/\/line\.me\/R\/|line:\/\/)/i;

function userName() { return $('user').value.trim() || 'demo-customer'; }
function userPath(suffix) { return `/_sim/users/${encodeURIComponent(userName())}/${suffix}`; }
function newUserFields() {
  return { language: $('lang').value, displayName: userName() };
}

async function call(suffix, body, asNewUser = true) {
  // A user is created by their first action, with the language chosen in the header.
  const fields = asNewUser ? newUserFields() : {};
  const res = await fetch(userPath(suffix), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(Object.assign(fields, body || {})),
  });
  return finish(res);
}

async function upload(suffix, blob) {
  const query = `?language=${encodeURIComponent($('lang').value)}`;
  const res = await fetch(userPath(suffix) + query, { method: 'POST', body: blob });
  return finish(res);
}

async function finish(res) {
  let data = {};
  try { data = await res.json(); } catch (e) { data = { error: `HTTP ${res.status}` }; }
  if (!res.ok) toast(data.error || `HTTP ${res.status}`);
  else if (data.webhookStatus && data.webhookStatus !== 200) toast(`The bot's webhook answered ${data.webhookStatus}`);
  $('status').textContent = data.webhookStatus ? `webhook ${data.webhookStatus}` : '';
  await load(true);
  loadChats();  // a new user, or a new last message, shows in the list at once
  return data;
}

// -- drawing -------------------------------------------------------------------------------

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function row(entry) {
  const div = document.createElement('div');
  const kind = entry.from === 'bot' ? 'bot' : entry.note ? 'note' : 'user';
  div.className = `row ${kind}`;
  div.dataset.seq = entry.seq;
  if (kind === 'bot') div.insertAdjacentHTML('beforeend', '<span class="avatar">S</span>');
  const content = document.createElement('div');
  content.className = 'content';
  content.innerHTML = entry.html;  // rendered and escaped by simulator/message_html.py
  if (entry.alt) content.title = entry.alt;
  div.appendChild(content);
  if (kind !== 'note') {
    const time = document.createElement('span');
    time.className = 'time';
    time.textContent = clock(entry.at);
    div.appendChild(time);
  }
  return div;
}

function draw(chat) {
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  log.replaceChildren(...chat.entries.map(row));
  if (atBottom || state.forceScroll) log.scrollTop = log.scrollHeight;
  state.forceScroll = false;
  const lastSeq = chat.entries.length ? chat.entries[chat.entries.length - 1].seq : 0;
  const quick = $('quick');
  quick.hidden = !chat.quickReply || state.quickHiddenAt === lastSeq;
  quick.innerHTML = quick.hidden ? '' : chat.quickReply;
  drawMenu(chat.richMenu);
}

function drawMenu(menu) {
  const bar = $('menubar'), panel = $('richmenu');
  if (!menu) { bar.hidden = true; panel.hidden = true; panel.innerHTML = ''; return; }
  if (!(menu.richMenuId in state.menuOpen)) state.menuOpen[menu.richMenuId] = menu.selected;
  const open = state.menuOpen[menu.richMenuId];
  bar.hidden = false;
  $('menubar-text').textContent = menu.chatBarText;
  $('menubar-arrow').textContent = open ? '▾' : '▴';
  if (panel.dataset.menuId !== menu.richMenuId) {
    panel.innerHTML = menu.html;
    panel.dataset.menuId = menu.richMenuId;
  }
  panel.hidden = !open;
}

async function load(force) {
  const res = await fetch(userPath('chat'));
  if (!res.ok) return;
  const chat = await res.json();
  const entries = chat.entries;
  const signature = [userName(), entries.length, entries.length ? entries[entries.length - 1].seq : 0,
    chat.richMenu ? chat.richMenu.richMenuId : '', state.quickHiddenAt].join('|');
  state.chat = chat;
  if (chat.user) $('lang').value = chat.user.language;
  if (force || signature !== state.signature) {
    state.signature = signature;
    draw(chat);
  }
}

async function loadChats() {
  const res = await fetch('/_sim/users');
  if (!res.ok) return;
  const users = await res.json();
  const list = $('chat-list'), names = $('known-users');
  list.replaceChildren();
  names.replaceChildren();
  for (const user of users) {
    const li = document.createElement('li');
    li.className = user.name === userName() ? 'current' : '';
    li.innerHTML = '<span class="avatar"></span><div class="lines"><div class="who"></div><div class="preview"></div></div>';
    li.querySelector('.avatar').textContent = (user.displayName || '?').slice(0, 1).toUpperCase();
    li.querySelector('.who').textContent = user.displayName;
    li.querySelector('.preview').textContent = user.preview;
    li.onclick = () => switchUser(user.name);
    list.appendChild(li);
    const option = document.createElement('option');
    option.value = user.name;
    names.appendChild(option);
  }
}

function switchUser(name) {
  $('user').value = name;
  state.quickHiddenAt = -1;
  state.forceScroll = true;
  history.replaceState(null, '', `?user=${encodeURIComponent(name)}`);
  load(true);
  loadChats();
}

// -- doing what the LINE app does ------------------------------------------------------------

function pending(text) {
  if (!text) return;
  const div = row({ from: 'user', html: '', at: Date.now() / 1000, seq: -1 });
  div.classList.add('pending');
  const bubble = document.createElement('div');
  bubble.className = 'msg msg-text';
  bubble.textContent = text;
  div.querySelector('.content').appendChild(bubble);
  $('log').appendChild(div);
  $('log').scrollTop = $('log').scrollHeight;
}

function hideQuickReplies() {
  const entries = state.chat ? state.chat.entries : [];
  state.quickHiddenAt = entries.length ? entries[entries.length - 1].seq : 0;
  $('quick').hidden = true;
}

async function tap(action) {
  hideQuickReplies();
  if (action.type === 'datetimepicker') return pick(action);
  if (action.type === 'camera' || action.type === 'cameraRoll') { $('photo').click(); return; }
  if (action.type === 'uri' && !LINE_LINK.test(action.uri)) {
    window.open(action.uri, '_blank', 'noopener');  // now, while the click still counts
  }
  if (action.type === 'message') pending(action.text);
  if (action.type === 'postback') pending(action.displayText || action.text);
  const data = await call('perform', { action });
  if (data.effect) effect(data.effect);
}

function effect(what) {
  switch (what.type) {
    case 'typed': typed(what.text); break;
    case 'scanner': openScanner(); break;
    case 'browser': break;  // opened already (or by the scanner below)
    case 'switched': load(true); break;
    case 'clipboard':
      if (navigator.clipboard) navigator.clipboard.writeText(what.text).catch(() => {});
      toast(`Copied: ${what.text}`);
      break;
    case 'input':
      if (what.option === 'closeRichMenu' || what.option === 'openRichMenu') {
        const menu = state.chat && state.chat.richMenu;
        if (menu) { state.menuOpen[menu.richMenuId] = what.option === 'openRichMenu'; drawMenu(menu); }
      } else if (what.option === 'openKeyboard') $('text').focus();
      else toast('LINE opens the voice input');
      break;
    case 'location': call('location'); break;
    case 'text': toast(`The QR reader shows: ${what.text}`); break;
    default: toast(what.description || JSON.stringify(what));
  }
}

function typed(text) {
  // As in LINE: the text waits in the box with the cursor after it, ready for more
  // (a cashier adds the amount after a scanned `/earn <token> `).
  const box = $('text');
  const menu = state.chat && state.chat.richMenu;
  if (menu) { state.menuOpen[menu.richMenuId] = false; drawMenu(menu); }  // the keyboard is up
  box.value = text;
  box.focus();
  box.setSelectionRange(text.length, text.length);
  box.scrollLeft = box.scrollWidth;
  toast('LINE typed this into the input box: press Send');
}

function pick(action) {
  const dialog = $('picker'), input = $('picker-input');
  const type = { date: 'date', time: 'time', datetime: 'datetime-local' }[action.mode] || 'datetime-local';
  input.type = type;
  input.min = action.min || '';
  input.max = action.max || '';
  input.value = action.initial || '';
  $('picker-title').textContent = action.label || 'Choose';
  dialog.onclose = async () => {
    if (dialog.returnValue !== 'ok' || !input.value) return;
    const params = {}; params[action.mode || 'datetime'] = input.value;
    await call('perform', { action, params });
  };
  dialog.returnValue = '';
  dialog.showModal();
}

function openScanner() {
  const sent = $('scan-sent');
  sent.replaceChildren();
  const seen = new Set();
  for (const img of document.querySelectorAll('#log .row.bot img')) {
    const src = img.getAttribute('src');
    if (!src || !/^https?:/.test(src) || seen.has(src)) continue;
    seen.add(src);
    const button = document.createElement('button');
    button.type = 'button';
    button.title = 'Scan this image';
    button.appendChild(img.cloneNode());
    button.onclick = () => scanWith({ url: src });
    sent.appendChild(button);
  }
  $('scan-text').value = '';
  $('scan-file').value = '';
  $('scanner').showModal();
}

async function scanWith(body, blob) {
  const data = blob ? await upload('scan', blob) : await call('scan', body);
  if (!data.effect) return;
  $('scanner').close();
  if (data.effect.type === 'browser') window.open(data.effect.uri, '_blank', 'noopener');
  effect(data.effect);
}

function toast(text) {
  const box = $('toast');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

// -- wiring ----------------------------------------------------------------------------------

document.addEventListener('click', (event) => {
  const target = event.target.closest('[data-action]');
  if (!target) return;
  event.preventDefault();
  tap(JSON.parse(target.dataset.action));
});
document.addEventListener('keydown', (event) => {
  const target = event.target.closest && event.target.closest('[role=button][data-action]');
  if (target && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault();
    tap(JSON.parse(target.dataset.action));
  }
});

$('composer').onsubmit = (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  $('text').value = '';
  $('toast').hidden = true;  // its hint ("press Send") is done with
  hideQuickReplies();
  pending(text);
  call('say', { text });
};
$('menubar').onclick = () => {
  const menu = state.chat && state.chat.richMenu;
  if (!menu) return;
  state.menuOpen[menu.richMenuId] = !state.menuOpen[menu.richMenuId];
  drawMenu(menu);
};
$('more').addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-do]');
  if (!button) return;
  $('more').open = false;
  const what = button.dataset.do;
  if (what === 'photo') $('photo').click();
  else if (what === 'scanner') openScanner();
  else await call(what);
});
$('photo').onchange = async () => {
  const file = $('photo').files[0];
  $('photo').value = '';
  if (file) await upload('image', file);
};
$('scan-file').onchange = () => {
  const file = $('scan-file').files[0];
  if (file) scanWith(null, file);
};
$('scanner').querySelector('form').onsubmit = (event) => {
  if (event.submitter && event.submitter.value === 'text') {
    event.preventDefault();
    const text = $('scan-text').value.trim();
    if (text) scanWith({ text });
  }
};
$('user').onchange = () => switchUser(userName());
$('lang').onchange = () => {
  if (state.chat && state.chat.user) call('profile', { language: $('lang').value }, false);
};

const wanted = new URLSearchParams(location.search).get('user');
if (wanted) $('user').value = wanted;
state.forceScroll = true;
load(true);
loadChats();
setInterval(load, 1500);
setInterval(loadChats, 4000);
