/**
 * The phone page: connect (exchange the QR token) → confirm the patient → take or choose photos → send.
 * Screens are rebuilt on change; photo cards update in place so thumbnails are decoded once.
 */
import type { ExchangeResponse, LanSessionInfo } from '../../../shared/contracts/lan';
import type { ErrorBody } from '../../../shared/errors/app-error';
import { CONSENTS, consentDisplay, LATERALITIES, type BodySite } from '../../../shared/coded/values';
import type { Timers, Transport } from './api';
import { button, h, replaceChildren, type Props } from './dom';
import { bodyFor, failureOf, PHONE_MESSAGES, sessionEndOf } from './failures';
import { formatBytes } from '../../common/format';
import { formatBirthDate, photos } from './format';
import { uuidV4 } from './ids';
import { isLateral, siteGroups, siteLabel } from './sites';
import { forgetCredential, loadCredential, saveCredential, type SavedCredential } from './store';
import { dropFragment, readFragmentToken } from './token';
import { HELD_STILL_GO, UploadQueue, type Photo } from './uploads';
import { ScreenKeeper, type WakeLockLike } from './wake';

export interface AppEnv extends Timers {
  root: HTMLElement;
  transport: Transport;
  random: () => number;
  win: Window;
  doc: Document;
}

type Screen =
  | { kind: 'connecting' }
  | { kind: 'unreachable'; retry: () => void; body?: ErrorBody }
  | { kind: 'confirm' }
  | { kind: 'capture' }
  | { kind: 'declined' }
  | { kind: 'ended'; body: ErrorBody };

const ACCEPT = 'image/*,.heic,.heif';

export class PhoneApp {
  private screen: Screen = { kind: 'connecting' };
  private cred: SavedCredential | undefined;
  private session: LanSessionInfo | undefined;
  /** Photos the PC already holds from this session when the page was reloaded (from the status poll). */
  private sentBefore = 0;
  private queue: UploadQueue | undefined;
  private readonly cards = new Map<string, PhotoCard>();
  private online = true;
  private readonly keeper: ScreenKeeper;
  private list: HTMLElement | undefined;
  private bar: HTMLElement | undefined;
  private banner: HTMLElement | undefined;
  private sheet: HTMLElement | undefined;

  constructor(private readonly env: AppEnv) {
    this.keeper = new ScreenKeeper((env.win.navigator as Navigator & { wakeLock?: WakeLockLike }).wakeLock);
  }

  start(): void {
    const { win, doc } = this.env;
    this.online = win.navigator.onLine;
    for (const online of [true, false]) {
      win.addEventListener(online ? 'online' : 'offline', () => {
        this.online = online;
        this.queue?.setOnline(online);
        this.refreshChrome();
      });
    }
    doc.addEventListener('visibilitychange', () => {
      if (doc.visibilityState !== 'visible') return;
      this.keeper.visible();
      this.queue?.resume();
      void this.checkSession();
    });
    win.addEventListener('pageshow', (e) => {
      if ((e as PageTransitionEvent).persisted) void this.checkSession();
    });
    // A new QR scanned into the same tab only changes the fragment: start over with that token.
    win.addEventListener('hashchange', () => {
      if (readFragmentToken(win.location.hash).kind === 'none') return;
      this.leaveSession();
      void this.connect();
    });
    void this.connect();
  }

  private async connect(): Promise<void> {
    const { win } = this.env;
    const frag = readFragmentToken(win.location.hash);
    if (frag.kind !== 'none') {
      dropFragment(win.location, win.history);
      forgetCredential();
    }
    this.show({ kind: 'connecting' });
    const saved = frag.kind === 'none' ? loadCredential() : undefined;
    if (frag.kind === 'token') await this.exchange(frag.token);
    else if (saved !== undefined) await this.resumeSaved(saved);
    else this.show({ kind: 'ended', body: bodyFor('ERR_LAN_TOKEN_INVALID', frag.kind === 'none' ? { message: PHONE_MESSAGES.noLink } : {}) });
  }

  private async exchange(token: string): Promise<void> {
    let res: ExchangeResponse;
    try {
      res = await this.env.transport.exchange(token);
    } catch (err) {
      this.connectFailed(err, () => void this.exchange(token));
      return;
    }
    this.cred = { credential: res.credential, maxUploadFileBytes: res.limits.maxUploadFileBytes };
    this.session = res.session;
    this.sentBefore = 0;
    saveCredential(this.cred);
    this.show({ kind: 'confirm' });
  }

  /** After a reload: the credential from this tab, the patient read again from the PC. */
  private async resumeSaved(saved: SavedCredential): Promise<void> {
    try {
      const st = await this.env.transport.status(saved.credential);
      this.cred = saved;
      this.session = st.session;
      this.sentBefore = st.uploads.length;
      this.show({ kind: 'confirm' });
    } catch (err) {
      this.connectFailed(err, () => void this.resumeSaved(saved));
    }
  }

  private connectFailed(err: unknown, retry: () => void): void {
    const ended = sessionEndOf(err);
    if (ended !== undefined) {
      forgetCredential();
      this.show({ kind: 'ended', body: ended });
      return;
    }
    const failure = failureOf(err);
    this.show({ kind: 'unreachable', retry, ...(failure.kind === 'http' ? { body: failure.body } : {}) });
  }

  /** A quiet status poll when the page comes back: finds out at once if the PC ended the session. */
  private async checkSession(): Promise<void> {
    if (this.cred === undefined || (this.screen.kind !== 'capture' && this.screen.kind !== 'confirm')) return;
    try {
      await this.env.transport.status(this.cred.credential);
    } catch (err) {
      const ended = sessionEndOf(err);
      if (ended === undefined) return;
      if (HELD_STILL_GO.has(ended.code) && this.queue !== undefined) this.queue.heldOnly(ended);
      else this.sessionOver(ended);
    }
  }

  private confirmPatient(): void {
    const cred = this.cred;
    if (cred === undefined) return;
    this.queue = new UploadQueue({
      ...this.env, // transport, clock, timers, randomness
      credential: () => cred.credential,
      newId: () => uuidV4(),
      maxBytes: cred.maxUploadFileBytes,
      onChange: (p, removed) => this.photoChanged(p, removed === true),
      onSessionStop: (body) => this.sessionOver(body),
      onHeldOnly: () => this.show({ kind: 'capture' }),
    });
    this.queue.setOnline(this.online);
    this.show({ kind: 'capture' });
  }

  private decline(): void {
    const cred = this.cred;
    // Leave a trace on the PC (the GP is told); the page leaves either way.
    if (cred !== undefined) void this.env.transport.decline(cred.credential).catch(() => undefined);
    this.leaveSession();
    this.show({ kind: 'declined' });
  }

  /** The PC ended this phone's session (patient changed, ended, expired): stop everything, clear everything. */
  private sessionOver(body: ErrorBody): void {
    this.queue?.stop(body);
    forgetCredential();
    this.cred = undefined;
    this.show({ kind: 'ended', body });
  }

  private leaveSession(): void {
    this.queue?.stop(bodyFor('ERR_LAN_SESSION_ENDED'));
    this.queue?.clear();
    this.queue = undefined;
    forgetCredential();
    this.cred = undefined;
    this.session = undefined;
  }

  private photoChanged(p: Photo, removed: boolean): void {
    let card = this.cards.get(p.id);
    if (removed) {
      card?.dispose();
      this.cards.delete(p.id);
    } else if (card === undefined && this.queue !== undefined) {
      card = new PhotoCard(p, this.queue, (id) => this.openSitePicker(id));
      this.cards.set(p.id, card);
      this.list?.append(card.el);
    } else {
      card?.update(p);
    }
    // Sent or stopped: nothing of the photo stays in the page but its line of text.
    if (!removed && (p.state === 'sent' || p.state === 'stopped' || p.file === undefined)) card?.releaseImage();
    this.refreshChrome();
  }

  private show(screen: Screen): void {
    this.screen = screen;
    this.closeSheet();
    if (screen.kind !== 'capture') {
      for (const c of this.cards.values()) c.dispose();
      this.cards.clear();
      this.list = this.bar = this.banner = undefined;
    }
    const root = this.env.root;
    root.dataset.screen = screen.kind;
    replaceChildren(root, this.view(screen));
    root.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }

  private view(screen: Screen): HTMLElement {
    switch (screen.kind) {
      case 'connecting':
        return h('div', { class: 'screen screen-center' }, h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', { class: 'lead' }, 'Connecting to the PC…'));
      case 'unreachable':
        return h(
          'div',
          { class: 'screen screen-center' },
          icon(true),
          title(screen.body?.code === 'ERR_RATE_LIMITED' ? 'Please wait a moment' : 'Cannot reach the PC'),
          h('p', { class: 'lead' }, screen.body?.message ?? PHONE_MESSAGES.cannotConnect),
          screen.body === undefined
            ? h('div', { class: 'checks' }, h('h2', { class: 'checks-title' }, 'Check that:'), h('ul', { 'data-testid': 'unreachable-checks' }, ...PHONE_MESSAGES.checks.map((c) => h('li', {}, c))))
            : null,
          button('btn btn-primary', 'Try again', () => screen.retry()),
        );
      case 'confirm':
        return this.confirmView();
      case 'capture':
        return this.captureView();
      case 'declined':
        return h('div', { class: 'screen screen-center' }, icon(false), title('Nothing was sent'), h('p', { class: 'lead' }, 'Ask the GP to open the right patient on the PC and show a new QR code, then scan it.'));
      case 'ended':
        return this.endedView(screen.body);
    }
  }

  private confirmView(): HTMLElement {
    const s = this.session;
    const patient = h(
      'section',
      { class: 'patient', 'aria-label': 'Patient' },
      h('p', { class: 'eyebrow' }, 'Photos are for'),
      h('p', { class: 'patient-name', 'data-testid': 'patient-name' }, s?.patient.displayName ?? ''),
      h('p', { class: 'patient-dob', 'data-testid': 'patient-dob' }, born(s)),
      s !== undefined && s.roomLabel !== '' ? h('p', { class: 'patient-room', 'data-testid': 'room' }, s.roomLabel) : null,
    );
    return h(
      'div',
      { class: 'screen' },
      title('Is this the right patient?'),
      patient,
      this.sentBefore > 0 ? h('p', { class: 'note note-ok', 'data-testid': 'already-sent' }, `${photos(this.sentBefore)} from this session ${this.sentBefore === 1 ? 'is' : 'are'} already on the PC.`) : null,
      h('p', { class: 'muted' }, 'Check the name and date of birth with the patient before taking photos.'),
      h(
        'div',
        { class: 'stack' },
        button('btn btn-primary btn-large', 'Yes, this is the patient', () => this.confirmPatient()),
        button('btn btn-quiet', 'No, not this patient', () => this.decline()),
      ),
    );
  }

  private captureView(): HTMLElement {
    const s = this.session;
    // A real button opens the hidden file input (a tap is a user gesture, so the camera or gallery opens on every
    // phone); the input itself is out of the tab order and hidden from assistive technology.
    const fileInput = (testid: string, props: Props): HTMLInputElement => {
      const input = h('input', { type: 'file', accept: ACCEPT, class: 'visually-hidden', 'data-testid': testid, tabindex: '-1', 'aria-hidden': 'true', ...props });
      input.addEventListener('change', () => {
        for (const f of Array.from(input.files ?? [])) this.queue?.add(f);
        input.value = ''; // drop the browser's reference to the chosen files
        this.refreshChrome();
      });
      return input;
    };
    const camera = fileInput('camera-input', { capture: 'environment' });
    const gallery = fileInput('gallery-input', { multiple: true });
    const picker = (cls: string, glyph: string, text: string, input: HTMLInputElement): HTMLElement =>
      h('button', { class: `btn ${cls} btn-large btn-icon`, type: 'button', onclick: () => input.click() }, h('span', { class: `glyph ${glyph}`, 'aria-hidden': 'true' }), text);
    const closed = this.queue?.heldOnlyBecause;
    this.list = h('ul', { class: 'photos', 'aria-label': 'Photos' }, ...[...this.cards.values()].map((c) => c.el)); // kept across a redraw
    this.banner = h('div', { class: 'banner', role: 'status', hidden: true });
    this.bar = h('div', { class: 'actionbar' });
    const view = h(
      'div',
      { class: 'screen screen-capture' },
      h(
        'header',
        { class: 'patient-bar' },
        h('h1', { class: 'visually-hidden', tabindex: '-1' }, 'Take photos'),
        h('p', { class: 'patient-bar-name', 'data-testid': 'patient-name' }, s?.patient.displayName ?? ''),
        h('p', { class: 'patient-bar-meta' }, `${born(s)}${s !== undefined && s.roomLabel !== '' ? ` · ${s.roomLabel}` : ''}`),
      ),
      this.banner,
      closed === undefined
        ? h(
            'div',
            { class: 'add' },
            picker('btn-primary', 'glyph-camera', 'Take photo', camera),
            picker('btn-secondary', 'glyph-gallery', 'Choose from gallery', gallery),
            camera,
            gallery,
          )
        : heldOnlyNote(closed, s?.patient.displayName ?? 'the patient you confirmed'),
      this.list,
      this.bar,
    );
    this.refreshChrome();
    return view;
  }

  private endedView(body: ErrorBody): HTMLElement {
    const counts = this.queue?.counts();
    const unsent = counts === undefined ? 0 : counts.stopped;
    const sent = (counts?.sent ?? 0) + this.sentBefore;
    // A credential that expired after the nurse was already working is an idle session, not an old QR code.
    const idle = body.code === 'ERR_LAN_TOKEN_EXPIRED' && this.queue !== undefined;
    const titles: Partial<Record<ErrorBody['code'], string>> = {
      ERR_LAN_PATIENT_CHANGED: 'The PC changed to another patient',
      ERR_LAN_SESSION_ENDED: 'This upload session has ended',
      ERR_LAN_SESSION_SENT: 'The GP has sent the photos',
      ERR_LAN_TOKEN_EXPIRED: idle ? 'This upload session timed out' : 'This QR code has expired',
      ERR_LAN_TOKEN_INVALID: 'This link cannot be used',
      ERR_RATE_LIMITED: 'Please wait a moment',
    };
    const warn = body.code === 'ERR_LAN_PATIENT_CHANGED';
    const saysScan = /scan/i.test(body.message);
    return h(
      'div',
      { class: 'screen screen-center', 'data-code': body.code },
      icon(warn),
      title(titles[body.code] ?? 'The upload has stopped'),
      h('p', { class: 'lead', 'data-testid': 'ended-message' }, body.message),
      sent > 0
        ? h('p', { class: 'note note-ok', 'data-testid': 'ended-sent' }, warn && this.session !== undefined ? `${photos(sent)} reached the PC for ${this.session.patient.displayName}.` : `${photos(sent)} reached the PC${body.code === 'ERR_LAN_SESSION_SENT' ? '' : ' before this'}.`)
        : null,
      unsent > 0 ? h('p', { class: 'note note-warn', 'data-testid': 'unsent' }, `${photos(unsent)} not sent. ${unsent === 1 ? 'It was' : 'They were'} not sent to anyone and ${unsent === 1 ? 'has' : 'have'} been cleared from this page.`) : null,
      body.action === 'rescan' && !saysScan ? h('p', { class: 'hint' }, 'To carry on, scan the new QR code on the PC with the camera.') : null,
    );
  }

  /** Banner and action bar: recomputed on every change. */
  private refreshChrome(): void {
    const q = this.queue;
    if (q === undefined || this.bar === undefined || this.banner === undefined) return;
    const c = q.counts();
    const waiting = !this.online || c.retrying > 0 || (c.failed > 0 && q.list().some((p) => p.state === 'failed' && p.file !== undefined));
    const [kind, text] = !this.online ? ['warn', PHONE_MESSAGES.offline] : c.retrying > 0 ? ['info', PHONE_MESSAGES.reconnecting] : [undefined, ''];
    this.banner.hidden = kind === undefined;
    if (kind !== undefined) this.banner.className = `banner banner-${kind}`;
    this.banner.textContent = text;
    const busy = c.queued + c.sending + c.retrying;
    this.keeper.busy(busy > 0);
    replaceChildren(this.bar, barContent(c, busy, waiting, () => q.sendAll()));
  }

  private openSitePicker(id: string): void {
    const q = this.queue;
    const p = q?.get(id);
    if (q === undefined || p === undefined) return;
    this.closeSheet();
    const search = h('input', { type: 'search', class: 'search', placeholder: 'Search, e.g. forearm', 'aria-label': 'Search body sites', autocomplete: 'off', enterkeyhint: 'search' });
    const results = h('div', { class: 'site-results' });
    const choose = (code: string | null): void => {
      q.update(id, { bodySiteCode: code, ...(code === null || !isLateral(code) ? { laterality: null } : {}) });
      this.closeSheet();
    };
    const list = (sites: BodySite[]): HTMLElement =>
      h('ul', { class: 'site-list' }, ...sites.map((s) => h('li', {}, button(`site${p.bodySiteCode === s.code ? ' site-current' : ''}`, s.display, () => choose(s.code), { 'aria-pressed': String(p.bodySiteCode === s.code) }))));
    const fill = (): void => {
      const g = siteGroups(search.value);
      replaceChildren(
        results,
        g.favourites.length > 0 ? h('h3', {}, 'Common') : null,
        g.favourites.length > 0 ? list(g.favourites) : null,
        g.others.length > 0 ? h('h3', {}, search.value.trim() === '' ? 'All body sites' : 'Matches') : null,
        g.others.length > 0 ? list(g.others) : h('p', { class: 'muted' }, 'No body site matches. Try another word.'),
      );
    };
    search.addEventListener('input', fill);
    fill();
    const close = (): void => this.closeSheet();
    const sheet = h(
      'div',
      { class: 'sheet-backdrop', onclick: (e: Event) => e.target === e.currentTarget && close() },
      h(
        'div',
        { class: 'sheet', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'sheet-title' },
        h('div', { class: 'sheet-head' }, h('h2', { id: 'sheet-title' }, `Body site · Photo ${p.n}`), button('btn btn-quiet btn-small', 'Close', close)),
        search,
        results,
        h('div', { class: 'sheet-foot' }, button('btn btn-secondary', 'No body site', () => choose(null))),
      ),
    );
    this.sheet = sheet;
    this.env.root.append(sheet);
  }

  private closeSheet(): void {
    this.sheet?.remove();
    this.sheet = undefined;
  }
}

/** One photo: thumbnail (made once, released after sending) and a body re-rendered on change. */
class PhotoCard {
  private readonly thumb = h('div', { class: 'thumb' });
  private readonly body = h('div', { class: 'photo-body' });
  readonly el = h('li', { class: 'photo', 'data-testid': 'photo' }, this.thumb, this.body);
  private url: string | undefined;
  private readonly name: string;

  constructor(
    photo: Photo,
    private readonly queue: UploadQueue,
    private readonly pickSite: (id: string) => void,
  ) {
    this.name = photo.name;
    const file = photo.file;
    if (file !== undefined && photo.state === 'staged') {
      this.url = URL.createObjectURL(file);
      const img = h('img', { alt: `Photo ${photo.n}`, decoding: 'async' });
      img.addEventListener('error', () => this.fallback(photo.name), { once: true });
      img.src = this.url;
      this.thumb.append(img);
    } else {
      this.fallback(photo.name);
    }
    this.update(photo);
  }

  /** A neutral tile with the file name when the phone's browser cannot show this image (HEIC in Chrome). */
  private fallback(name: string): void {
    replaceChildren(this.thumb, h('span', { class: 'thumb-name' }, name));
    this.thumb.classList.add('thumb-plain');
  }

  releaseImage(): void {
    if (this.url !== undefined) {
      URL.revokeObjectURL(this.url);
      this.url = undefined;
      this.fallback(this.name); // the decoded picture goes with the URL; the name stays for a refused photo
    }
  }

  dispose(): void {
    this.releaseImage();
    this.el.remove();
  }

  update(p: Photo): void {
    this.el.dataset.state = p.state;
    const editable = (p.state === 'staged' || p.state === 'failed') && p.file !== undefined;
    const removable = p.state === 'staged' || p.state === 'failed' || p.state === 'stopped';
    const site = siteLabel(p.bodySiteCode, p.laterality);
    const status = STATUS_TEXT[p.state](p);
    const q = this.queue;
    const laterality = editable && isLateral(p.bodySiteCode) ? segmented(`Side for photo ${p.n}`, LATERALITIES, p.laterality, (l) => q.update(p.id, { laterality: l })) : null;
    const consent = editable
      ? h('div', { class: 'consent' }, h('p', { class: 'consent-label' }, 'Patient consent'), segmented(`Patient consent for photo ${p.n}`, CONSENTS, p.consent, (c) => q.update(p.id, { consent: c }), 'consent'))
      : p.consent !== undefined
        ? h('p', { class: 'photo-site' }, `Consent: ${consentDisplay(p.consent).toLowerCase()}`)
        : null;
    replaceChildren(
      this.body,
      h(
        'div',
        { class: 'photo-head' },
        h('p', { class: 'photo-title' }, `Photo ${p.n}`, h('span', { class: 'photo-size' }, ` · ${formatBytes(p.size)}`)),
        removable ? button('icon-btn', '✕', () => q.remove(p.id), { 'aria-label': `Remove photo ${p.n}` }) : null,
      ),
      editable
        ? button(`btn btn-field${site === undefined ? '' : ' btn-field-set'}`, site === undefined ? 'Body site (optional)' : `Body site: ${site}`, () => this.pickSite(p.id), { 'data-testid': 'site' })
        : site !== undefined
          ? h('p', { class: 'photo-site' }, site)
          : null,
      laterality,
      consent,
      status === undefined ? null : h('p', { class: `photo-status status-${p.state}`, 'data-testid': 'photo-status' }, status),
      p.state === 'sending' || p.state === 'queued' ? h('progress', { max: '100', value: String(Math.round(p.progress * 100)), 'aria-label': `Photo ${p.n} progress` }) : null,
      p.state === 'failed' && p.file !== undefined ? button('btn btn-secondary btn-small', 'Try again', () => q.retry(p.id)) : null,
    );
  }
}

/** Toggle buttons for one choice (side, consent); pressing the chosen one again clears it. */
function segmented<K extends string>(label: string, options: readonly { key: K; display: string }[], current: K | undefined, set: (k: K | null) => void, testid?: string): HTMLElement {
  return h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': label, 'data-testid': testid },
    ...options.map((o) => button('seg', o.display, () => set(current === o.key ? null : o.key), { 'aria-pressed': String(current === o.key) })),
  );
}

/** The action bar: Send, or what the photos on their way are doing. */
function barContent(c: Record<Photo['state'], number>, busy: number, waiting: boolean, sendAll: () => void): HTMLElement {
  const total = c.staged + busy + c.sent;
  const status = (cls: string, text: string): HTMLElement => h('p', { class: cls, role: 'status', 'data-testid': 'bar-status' }, text);
  if (c.staged > 0) return button('btn btn-send btn-large', `Send ${photos(c.staged)} to the PC`, sendAll, { 'data-testid': 'send' });
  if (busy > 0 && c.sending === 0 && waiting) return status('bar-status bar-waiting', `Waiting for the connection · ${photos(busy)} to send`);
  if (busy > 0) return status('bar-status', `Sending ${Math.min(c.sent + 1, total)} of ${total}…`);
  if (c.sent > 0) return status('bar-status bar-done', `✓ ${c.sent === 1 ? 'The photo is' : `All ${c.sent} photos are`} on the PC`);
  return h('p', { class: 'bar-status bar-empty' }, 'Take a photo or choose from the gallery.');
}

const title = (text: string): HTMLElement => h('h1', { tabindex: '-1' }, text);

/** In place of the camera once the PC switched patient or the GP sent: the held photos below still go. */
function heldOnlyNote(body: ErrorBody, name: string): HTMLElement {
  if (body.code === 'ERR_LAN_SESSION_SENT') {
    return h(
      'div',
      { class: 'note note-ok', role: 'status', 'data-testid': 'sent-by-gp' },
      h('p', { class: 'note-title' }, 'The GP has pressed Send.'),
      h('p', {}, `The photos below still go to the PC for ${name}. No new photos can be taken here: to take more, scan the new QR code on the PC.`),
    );
  }
  return h(
    'div',
    { class: 'note note-warn', role: 'alert', 'data-testid': 'switched' },
    h('p', { class: 'note-title' }, 'The PC has moved on to another patient.'),
    h('p', {}, `The photos below were taken for ${name} and go only to their record. Send them now; take no new photos here — scan the new QR code for the next patient.`),
  );
}
const born = (s: LanSessionInfo | undefined): string => `Born ${formatBirthDate(s?.patient.birthDate ?? '')}`;

const icon = (warn: boolean): HTMLElement => h('div', { class: `icon ${warn ? 'icon-warn' : 'icon-info'}`, 'aria-hidden': 'true' }, warn ? '!' : 'i');

const STATUS_TEXT: Record<Photo['state'], (p: Photo) => string | undefined> = {
  staged: () => undefined,
  queued: () => 'Waiting to send…',
  sending: (p) => `Sending… ${Math.round(p.progress * 100)}%`,
  retrying: () => 'Connection dropped. Trying again…',
  sent: () => '✓ On the PC',
  failed: (p) => (p.file !== undefined ? `Not sent yet. ${p.error?.message ?? ''}`.trim() : `Not sent: ${p.error?.message ?? 'this file could not be used.'}`),
  stopped: () => 'Not sent.',
};
