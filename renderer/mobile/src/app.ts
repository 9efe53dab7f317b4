/**
 * The phone page: connect (exchange the QR token) → confirm the patient → take or choose photos → send.
 * Screens are rebuilt on change; photo cards update in place so thumbnails are decoded once.
 */
import type { ExchangeResponse, LanSessionInfo } from '../../../shared/contracts/lan';
import type { ErrorBody } from '../../../shared/errors/app-error';
import { CONSENTS, consentDisplay, type ConsentKey, type LateralityKey } from '../../../shared/coded/values';
import type { Transport } from './api';
import { h, replaceChildren } from './dom';
import { bodyFor, classify, PHONE_MESSAGES, RequestFailed, type Failure } from './failures';
import { formatBirthDate, formatBytes, photos } from './format';
import { uuidV4 } from './ids';
import { isLateral, LATERALITIES, siteGroups, siteLabel } from './sites';
import { forgetCredential, loadCredential, saveCredential, type SavedCredential } from './store';
import { dropFragment, readFragmentToken } from './token';
import { UploadQueue, type Photo } from './uploads';
import { ScreenKeeper, type WakeLockLike } from './wake';

export interface AppEnv {
  root: HTMLElement;
  transport: Transport;
  now: () => number;
  random: () => number;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
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
  /** Screen on while photos are on their way (where the browser offers the Wake Lock API). */
  private readonly keeper: ScreenKeeper;
  private list: HTMLElement | undefined;
  private bar: HTMLElement | undefined;
  private banner: HTMLElement | undefined;
  private sheet: HTMLElement | undefined;

  constructor(private readonly env: AppEnv) {
    this.keeper = new ScreenKeeper((env.win.navigator as Navigator & { wakeLock?: WakeLockLike }).wakeLock);
  }

  /** Entry point: wire page events and connect. */
  start(): void {
    const { win, doc } = this.env;
    this.online = win.navigator.onLine;
    win.addEventListener('online', () => {
      this.online = true;
      this.queue?.setOnline(true);
      this.refreshChrome();
    });
    win.addEventListener('offline', () => {
      this.online = false;
      this.queue?.setOnline(false);
      this.refreshChrome();
    });
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

  // --- connecting ---------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const { win } = this.env;
    const frag = readFragmentToken(win.location.hash);
    if (frag.kind !== 'none') dropFragment(win.location, win.history);
    this.show({ kind: 'connecting' });
    if (frag.kind === 'malformed') {
      forgetCredential();
      this.show({ kind: 'ended', body: bodyFor('ERR_LAN_TOKEN_INVALID') });
      return;
    }
    if (frag.kind === 'token') {
      forgetCredential();
      await this.exchange(frag.token);
      return;
    }
    const saved = loadCredential();
    if (saved === undefined) {
      this.show({ kind: 'ended', body: bodyFor('ERR_LAN_TOKEN_INVALID', { message: PHONE_MESSAGES.noLink }) });
      return;
    }
    await this.resumeSaved(saved);
  }

  private async exchange(token: string): Promise<void> {
    let res: ExchangeResponse;
    try {
      res = await this.env.transport.exchange(token);
    } catch (err) {
      this.connectFailed(err, () => void this.exchange(token));
      return;
    }
    this.cred = { credential: res.credential, phoneId: res.phoneId, maxUploadFileBytes: res.limits.maxUploadFileBytes };
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
    const failure: Failure = err instanceof RequestFailed ? err.failure : { kind: 'network' };
    if (failure.kind === 'http' && classify(failure) === 'session') {
      forgetCredential();
      this.show({ kind: 'ended', body: failure.body });
      return;
    }
    this.show({ kind: 'unreachable', retry, ...(failure.kind === 'http' ? { body: failure.body } : {}) });
  }

  /** A quiet status poll when the page comes back: finds out at once if the PC ended the session. */
  private async checkSession(): Promise<void> {
    if (this.cred === undefined || (this.screen.kind !== 'capture' && this.screen.kind !== 'confirm')) return;
    try {
      await this.env.transport.status(this.cred.credential);
    } catch (err) {
      const failure: Failure = err instanceof RequestFailed ? err.failure : { kind: 'network' };
      if (failure.kind !== 'http' || classify(failure) !== 'session') return;
      if (failure.body.code === 'ERR_LAN_PATIENT_CHANGED' && this.queue !== undefined) this.queue.patientChanged(failure.body);
      else this.sessionOver(failure.body);
    }
  }

  // --- the session --------------------------------------------------------------------------------

  private confirmPatient(): void {
    const cred = this.cred;
    if (cred === undefined) return;
    const { env } = this;
    this.queue = new UploadQueue({
      transport: env.transport,
      credential: () => cred.credential,
      newId: () => uuidV4(),
      now: env.now,
      setTimer: env.setTimer,
      clearTimer: env.clearTimer,
      random: env.random,
      maxBytes: cred.maxUploadFileBytes,
      onChange: (p, removed) => this.photoChanged(p, removed === true),
      onSessionStop: (body) => this.sessionOver(body),
      onPatientChanged: () => this.show({ kind: 'capture' }),
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

  private addFiles(files: FileList | null): void {
    if (files === null || this.queue === undefined) return;
    for (const f of Array.from(files)) this.queue.add(f);
    this.refreshChrome();
  }

  private photoChanged(p: Photo, removed: boolean): void {
    let card = this.cards.get(p.id);
    if (removed) {
      card?.dispose();
      this.cards.delete(p.id);
    } else if (card === undefined) {
      card = new PhotoCard(p, {
        remove: (id) => this.queue?.remove(id),
        retry: (id) => this.queue?.retry(id),
        pickSite: (id) => this.openSitePicker(id),
        setLaterality: (id, l) => this.queue?.update(id, { laterality: l }),
        setConsent: (id, c) => this.queue?.update(id, { consent: c }),
      });
      this.cards.set(p.id, card);
      this.list?.append(card.el);
    } else {
      card.update(p);
    }
    // Sent or stopped: nothing of the photo stays in the page but its line of text.
    if (!removed && (p.state === 'sent' || p.state === 'stopped' || p.file === undefined)) card?.releaseImage();
    this.refreshChrome();
  }

  // --- rendering ----------------------------------------------------------------------------------

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
    switch (screen.kind) {
      case 'connecting':
        replaceChildren(root, h('div', { class: 'screen screen-center' }, h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', { class: 'lead' }, 'Connecting to the PC…')));
        break;
      case 'unreachable':
        replaceChildren(
          root,
          h(
            'div',
            { class: 'screen screen-center' },
            icon(true),
            h('h1', { tabindex: '-1' }, screen.body?.code === 'ERR_RATE_LIMITED' ? 'Please wait a moment' : 'Cannot reach the PC'),
            h('p', { class: 'lead' }, screen.body?.message ?? PHONE_MESSAGES.cannotConnect),
            screen.body === undefined
              ? h('div', { class: 'checks' }, h('h2', { class: 'checks-title' }, 'Check that:'), h('ul', { 'data-testid': 'unreachable-checks' }, ...PHONE_MESSAGES.checks.map((c) => h('li', {}, c))))
              : null,
            h('button', { class: 'btn btn-primary', type: 'button', onclick: () => screen.retry() }, 'Try again'),
          ),
        );
        break;
      case 'confirm':
        replaceChildren(root, this.confirmView());
        break;
      case 'capture':
        replaceChildren(root, this.captureView());
        break;
      case 'declined':
        replaceChildren(
          root,
          h('div', { class: 'screen screen-center' }, icon(false), h('h1', { tabindex: '-1' }, 'Nothing was sent'), h('p', { class: 'lead' }, 'Ask the GP to open the right patient on the PC and show a new QR code, then scan it.')),
        );
        break;
      case 'ended':
        replaceChildren(root, this.endedView(screen.body));
        break;
    }
    root.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }

  private patientCard(): HTMLElement {
    const s = this.session;
    return h(
      'section',
      { class: 'patient', 'aria-label': 'Patient' },
      h('p', { class: 'eyebrow' }, 'Photos are for'),
      h('p', { class: 'patient-name', 'data-testid': 'patient-name' }, s?.patient.displayName ?? ''),
      h('p', { class: 'patient-dob', 'data-testid': 'patient-dob' }, `Born ${formatBirthDate(s?.patient.birthDate ?? '')}`),
      s !== undefined && s.roomLabel !== '' ? h('p', { class: 'patient-room', 'data-testid': 'room' }, s.roomLabel) : null,
    );
  }

  private confirmView(): HTMLElement {
    return h(
      'div',
      { class: 'screen' },
      h('h1', { tabindex: '-1' }, 'Is this the right patient?'),
      this.patientCard(),
      this.sentBefore > 0 ? h('p', { class: 'note note-ok', 'data-testid': 'already-sent' }, `${photos(this.sentBefore)} from this session ${this.sentBefore === 1 ? 'is' : 'are'} already on the PC.`) : null,
      h('p', { class: 'muted' }, 'Check the name and date of birth with the patient before taking photos.'),
      h(
        'div',
        { class: 'stack' },
        h('button', { class: 'btn btn-primary btn-large', type: 'button', onclick: () => this.confirmPatient() }, 'Yes, this is the patient'),
        h('button', { class: 'btn btn-quiet', type: 'button', onclick: () => this.decline() }, 'No, not this patient'),
      ),
    );
  }

  private captureView(): HTMLElement {
    const s = this.session;
    const camera = h('input', { type: 'file', accept: ACCEPT, capture: 'environment', class: 'visually-hidden', 'data-testid': 'camera-input', tabindex: '-1' });
    const gallery = h('input', { type: 'file', accept: ACCEPT, multiple: true, class: 'visually-hidden', 'data-testid': 'gallery-input', tabindex: '-1' });
    for (const input of [camera, gallery]) {
      input.addEventListener('change', () => {
        this.addFiles(input.files);
        input.value = ''; // drop the browser's reference to the chosen files
      });
    }
    // A real button opens the hidden file input (a tap is a user gesture, so the camera or gallery opens on every
    // phone); the input itself is out of the tab order and hidden from assistive technology.
    const picker = (cls: string, glyph: string, text: string, input: HTMLInputElement): HTMLElement =>
      h('button', { class: `btn ${cls} btn-large btn-icon`, type: 'button', onclick: () => input.click() }, h('span', { class: `glyph ${glyph}`, 'aria-hidden': 'true' }), text);
    for (const input of [camera, gallery]) input.setAttribute('aria-hidden', 'true');
    const switched = this.queue?.switched;
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
        h('p', { class: 'patient-bar-meta' }, `Born ${formatBirthDate(s?.patient.birthDate ?? '')}${s !== undefined && s.roomLabel !== '' ? ` · ${s.roomLabel}` : ''}`),
      ),
      this.banner,
      switched === undefined
        ? h(
            'div',
            { class: 'add' },
            picker('btn-primary', 'glyph-camera', 'Take photo', camera),
            picker('btn-secondary', 'glyph-gallery', 'Choose from gallery', gallery),
            camera,
            gallery,
          )
        : h(
            'div',
            { class: 'note note-warn', role: 'alert', 'data-testid': 'switched' },
            h('p', { class: 'note-title' }, 'The PC has moved on to another patient.'),
            h('p', {}, `The photos below were taken for ${s?.patient.displayName ?? 'the patient you confirmed'} and go only to their record. Send them now; take no new photos here — scan the new QR code for the next patient.`),
          ),
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
      h('h1', { tabindex: '-1' }, titles[body.code] ?? 'The upload has stopped'),
      h('p', { class: 'lead', 'data-testid': 'ended-message' }, body.message),
      sent > 0
        ? h('p', { class: 'note note-ok', 'data-testid': 'ended-sent' }, warn && this.session !== undefined ? `${photos(sent)} reached the PC for ${this.session.patient.displayName}.` : `${photos(sent)} reached the PC before this.`)
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
    const total = c.staged + busy + c.sent;
    let content: HTMLElement;
    if (c.staged > 0) {
      content = h('button', { class: 'btn btn-send btn-large', type: 'button', 'data-testid': 'send', onclick: () => q.sendAll() }, `Send ${photos(c.staged)} to the PC`);
    } else if (busy > 0 && c.sending === 0 && waiting) {
      content = h('p', { class: 'bar-status bar-waiting', role: 'status', 'data-testid': 'bar-status' }, `Waiting for the connection · ${photos(busy)} to send`);
    } else if (busy > 0) {
      content = h('p', { class: 'bar-status', role: 'status', 'data-testid': 'bar-status' }, `Sending ${Math.min(c.sent + 1, total)} of ${total}…`);
    } else if (c.sent > 0) {
      content = h('p', { class: 'bar-status bar-done', role: 'status', 'data-testid': 'bar-status' }, `✓ ${c.sent === 1 ? 'The photo is' : `All ${c.sent} photos are`} on the PC`);
    } else {
      content = h('p', { class: 'bar-status bar-empty' }, 'Take a photo or choose from the gallery.');
    }
    replaceChildren(this.bar, content);
  }

  // --- body-site picker ---------------------------------------------------------------------------

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
    const item = (code: string, label: string): HTMLElement =>
      h('li', {}, h('button', { type: 'button', class: `site${p.bodySiteCode === code ? ' site-current' : ''}`, 'aria-pressed': p.bodySiteCode === code ? 'true' : 'false', onclick: () => choose(code) }, label));
    const fill = (): void => {
      const g = siteGroups(search.value);
      replaceChildren(
        results,
        g.favourites.length > 0 ? h('h3', {}, 'Common') : null,
        g.favourites.length > 0 ? h('ul', { class: 'site-list' }, ...g.favourites.map((s) => item(s.code, s.display))) : null,
        g.others.length > 0 ? h('h3', {}, search.value.trim() === '' ? 'All body sites' : 'Matches') : null,
        g.others.length > 0 ? h('ul', { class: 'site-list' }, ...g.others.map((s) => item(s.code, s.display))) : h('p', { class: 'muted' }, 'No body site matches. Try another word.'),
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
        h('div', { class: 'sheet-head' }, h('h2', { id: 'sheet-title' }, `Body site · Photo ${p.n}`), h('button', { type: 'button', class: 'btn btn-quiet btn-small', onclick: close }, 'Close')),
        search,
        results,
        h('div', { class: 'sheet-foot' }, h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => choose(null) }, 'No body site')),
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

interface CardActions {
  remove(id: string): void;
  retry(id: string): void;
  pickSite(id: string): void;
  setLaterality(id: string, l: LateralityKey | null): void;
  setConsent(id: string, c: ConsentKey | null): void;
}

/** One photo: thumbnail (made once, released after sending) and a body re-rendered on change. */
class PhotoCard {
  readonly el: HTMLLIElement;
  private readonly thumb: HTMLElement;
  private readonly body: HTMLElement;
  private url: string | undefined;
  private readonly name: string;

  constructor(
    photo: Photo,
    private readonly actions: CardActions,
  ) {
    this.name = photo.name;
    this.thumb = h('div', { class: 'thumb' });
    this.body = h('div', { class: 'photo-body' });
    this.el = h('li', { class: 'photo', 'data-testid': 'photo' }, this.thumb, this.body);
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
    const laterality =
      editable && isLateral(p.bodySiteCode)
        ? h(
            'div',
            { class: 'segmented', role: 'group', 'aria-label': `Side for photo ${p.n}` },
            ...LATERALITIES.map((l) =>
              h(
                'button',
                {
                  type: 'button',
                  class: 'seg',
                  'aria-pressed': p.laterality === l.key ? 'true' : 'false',
                  onclick: () => this.actions.setLaterality(p.id, p.laterality === l.key ? null : l.key),
                },
                l.display,
              ),
            ),
          )
        : null;
    const consent = editable ? consentButtons(p, (c) => this.actions.setConsent(p.id, c)) : p.consent !== undefined ? h('p', { class: 'photo-site' }, `Consent: ${consentDisplay(p.consent).toLowerCase()}`) : null;
    replaceChildren(
      this.body,
      h(
        'div',
        { class: 'photo-head' },
        h('p', { class: 'photo-title' }, `Photo ${p.n}`, h('span', { class: 'photo-size' }, ` · ${formatBytes(p.size)}`)),
        removable ? h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Remove photo ${p.n}`, onclick: () => this.actions.remove(p.id) }, '✕') : null,
      ),
      editable
        ? h('button', { type: 'button', class: `btn btn-field${site === undefined ? '' : ' btn-field-set'}`, 'data-testid': 'site', onclick: () => this.actions.pickSite(p.id) }, site === undefined ? 'Body site (optional)' : `Body site: ${site}`)
        : site !== undefined
          ? h('p', { class: 'photo-site' }, site)
          : null,
      laterality,
      consent,
      status === undefined ? null : h('p', { class: `photo-status status-${p.state}`, 'data-testid': 'photo-status' }, status),
      p.state === 'sending' || p.state === 'queued' ? h('progress', { max: '100', value: String(Math.round(p.progress * 100)), 'aria-label': `Photo ${p.n} progress` }) : null,
      p.state === 'failed' && p.file !== undefined ? h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => this.actions.retry(p.id) }, 'Try again') : null,
    );
  }
}

/** The patient's consent for one photo: verbal, written or not needed; pressing the chosen one again clears it. */
function consentButtons(p: Photo, set: (c: ConsentKey | null) => void): HTMLElement {
  return h(
    'div',
    { class: 'consent' },
    h('p', { class: 'consent-label' }, 'Patient consent'),
    h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': `Patient consent for photo ${p.n}`, 'data-testid': 'consent' },
      ...CONSENTS.map((c) =>
        h('button', { type: 'button', class: 'seg', 'aria-pressed': p.consent === c.key ? 'true' : 'false', onclick: () => set(p.consent === c.key ? null : c.key) }, c.display),
      ),
    ),
  );
}

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
