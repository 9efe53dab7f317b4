import { useEffect, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { ImageView, OutboxItemView } from '../../../../shared/contracts/bridge';
import { formatPatientName, plural } from '../../../common/format';
import { IMAGE_STATUS_TEXT } from '../../../common/status';
import { columnsOf, gridTarget, isGridKey } from '../logic/grid-nav';
import { describeMetadata, missingText } from '../logic/metadata';
import { imageProgress, type ProgressMap } from '../logic/model';
import { sendLine } from '../logic/send-status';
import { isWaitingForMedtech } from '../logic/medtech-check';
import { InMedtechTag, MedtechCheck, type MedtechActions } from './MedtechCheck';

export function StatusBadge({ status }: { status: ImageView['status'] }) {
  const t = IMAGE_STATUS_TEXT[status];
  return (
    <span className={`badge badge-${t.tone}`} title={t.description} data-status={status}>
      <span aria-hidden="true" className="badge-symbol">
        {t.symbol}
      </span>
      {t.label}
    </span>
  );
}

export function ProgressBar({ fraction, label }: { fraction: number; label: string }) {
  const pct = Math.round(fraction * 100);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={`${label}: ${pct}%`}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

interface CardProps {
  image: ImageView;
  selected: boolean;
  /** Roving tabindex: only this group's current card is in the Tab order; arrow keys move between cards. */
  tabbable: boolean;
  onFocusCard: (id: string) => void;
  progress: ProgressMap;
  canRetry: boolean;
  onSelect: (id: string, e: MouseEvent) => void;
  onOpen: (id: string) => void;
  onRetry: (id: string) => void;
  /** Its outbox entry (for "next try in 20 s"), and the clock that counts down to it. */
  outboxItem: OutboxItemView | undefined;
  now: number;
  /** "It is in Medtech" / "Send again" for an unconfirmed image. */
  medtech?: MedtechActions;
}

/** The clock for countdowns: ticks once a second only while something counts down. */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return undefined;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [ticking]);
  return now;
}

function ImageCard({ image, selected, tabbable, onFocusCard, progress, canRetry, onSelect, onOpen, onRetry, outboxItem, now, medtech }: CardProps) {
  const p = imageProgress(image, progress);
  const line = sendLine(image, outboxItem, now);
  const tags = describeMetadata(image.metadata);
  const tabIndex = tabbable ? 0 : -1;
  return (
    <li
      className={`image-card${selected ? ' is-selected' : ''}`}
      data-testid="image-card"
      data-image-id={image.id}
      data-status={image.status}
      onFocus={() => onFocusCard(image.id)}
    >
      <button
        type="button"
        tabIndex={tabIndex}
        className="image-select"
        aria-pressed={selected}
        aria-label={`${image.label}, ${IMAGE_STATUS_TEXT[image.status].label}${selected ? ', selected' : ''}`}
        onClick={(e) => onSelect(image.id, e)}
        onDoubleClick={() => onOpen(image.id)}
      >
        <span className="thumb">
          {image.thumbnailUrl ? <img src={image.thumbnailUrl} alt="" draggable={false} /> : <span className="thumb-placeholder spinner" aria-hidden="true" />}
          {selected ? (
            <span className="thumb-check" aria-hidden="true">
              ✓
            </span>
          ) : null}
        </span>
      </button>
      <div className="image-meta">
        <div className="image-row">
          <StatusBadge status={image.status} />
          {image.source === 'phone' ? <span className="source-tag">Phone</span> : null}
          <InMedtechTag image={image} />
        </div>
        <div className="image-label" title={image.label}>
          {image.label}
        </div>
        {tags ? <div className="image-tags">{tags}</div> : null}
        {image.status === 'needs-info' && image.missingFields.length > 0 ? <div className="image-missing">{missingText(image.missingFields)}</div> : null}
        {p ? <ProgressBar fraction={p.fraction} label={p.label} /> : null}
        {line !== undefined && image.status !== 'committed' ? (
          <div className={image.status === 'waiting' ? 'image-wait' : 'image-send'} data-testid="send-line">
            {line}
          </div>
        ) : null}
        <MedtechCheck image={image} actions={medtech} tabIndex={tabIndex} />
        {image.error && (image.status === 'failed' || (image.status === 'waiting' && !isWaitingForMedtech(image))) ? (
          <div className={image.status === 'failed' ? 'image-error' : 'image-wait'} data-testid="image-error">
            {image.error.message}
          </div>
        ) : null}
        <div className="image-actions">
          <button
            type="button"
            tabIndex={tabIndex}
            className="button button-small"
            onClick={() => onOpen(image.id)}
            aria-label={`Open ${image.label}`}
            disabled={image.status === 'processing' || image.status === 'committed'}
          >
            Open
          </button>
          {image.status === 'failed' && canRetry ? (
            <button type="button" tabIndex={tabIndex} className="button button-small button-primary" onClick={() => onRetry(image.id)} aria-label={`Retry sending ${image.label}`}>
              Retry
            </button>
          ) : null}
        </div>
      </div>
    </li>
  );
}

export interface GroupProps {
  title: string;
  subtitle?: string;
  images: readonly ImageView[];
  selected: readonly string[];
  progress: ProgressMap;
  outbox: readonly OutboxItemView[];
  onSelect: (id: string, e: MouseEvent, groupIds: string[]) => void;
  onOpen: (id: string) => void;
  onRetry: (id: string) => void;
  medtech?: MedtechActions;
  /** "Belongs to" groups: send that patient's ready images to THAT patient. */
  other?: boolean;
  actions?: React.ReactNode;
  testId?: string;
}

export function ImageGroup(props: GroupProps) {
  const ids = props.images.map((i) => i.id);
  const inOutbox = new Set(props.outbox.map((o) => o.imageId));
  const outboxById = new Map(props.outbox.map((o) => [o.imageId, o]));
  const now = useNow(props.images.some((i) => i.status === 'waiting'));
  const list = useRef<HTMLUListElement>(null);
  const [focused, setFocused] = useState<string | null>(null);
  // The card in the Tab order: the last one focused, else the first selected one, else the first.
  const current = focused !== null && ids.includes(focused) ? focused : (ids.find((id) => props.selected.includes(id)) ?? ids[0] ?? null);

  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>): void => {
    if (!isGridKey(e.key) || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const cards = [...(list.current?.querySelectorAll<HTMLElement>(':scope > [data-image-id]') ?? [])];
    const from = cards.findIndex((c) => c.contains(e.target as Node));
    if (from < 0) return;
    e.preventDefault();
    const to = gridTarget(e.key, from, cards.length, columnsOf(cards.map((c) => c.offsetTop)));
    if (to === null) return;
    const target = cards[to];
    setFocused(target?.dataset.imageId ?? null);
    target?.querySelector<HTMLElement>('.image-select')?.focus();
  };
  return (
    <section className={`image-group${props.other ? ' image-group-other' : ''}`} aria-label={props.title} data-testid={props.testId}>
      <header className="group-header">
        <div>
          <h2>{props.title}</h2>
          {props.subtitle ? <p className="muted small">{props.subtitle}</p> : null}
        </div>
        <div className="group-actions">{props.actions}</div>
      </header>
      {/* Arrow keys move between the cards (Up/Down by row), Home/End to the first/last; Space or Enter selects. */}
      <ul className="image-grid" ref={list} onKeyDown={onKeyDown}>
        {props.images.map((img) => (
          <ImageCard
            key={img.id}
            image={img}
            selected={props.selected.includes(img.id)}
            tabbable={img.id === current}
            onFocusCard={setFocused}
            progress={props.progress}
            canRetry={inOutbox.has(img.id)}
            onSelect={(id, e) => props.onSelect(id, e, ids)}
            onOpen={props.onOpen}
            onRetry={props.onRetry}
            outboxItem={outboxById.get(img.id)}
            now={now}
            {...(props.medtech === undefined ? {} : { medtech: props.medtech })}
          />
        ))}
      </ul>
    </section>
  );
}

export function otherGroupTitle(images: readonly ImageView[]): string {
  const p = images[0]?.patient;
  return p ? `Belongs to ${formatPatientName(p)}` : 'Belongs to another patient';
}

export function groupSummary(images: readonly ImageView[]): string {
  const ready = images.filter((i) => i.status === 'ready').length;
  const needs = images.filter((i) => i.status === 'needs-info').length;
  const parts = [plural(images.length, 'image')];
  if (ready) parts.push(`${ready} ready`);
  if (needs) parts.push(`${needs} need details`);
  return parts.join(' · ');
}
