import { useRef, useState, type KeyboardEvent, type MouseEvent, type ReactNode } from 'react';
import type { ImageView, OutboxItemView } from '../../../../shared/contracts/bridge';
import { plural } from '../../../common/format';
import { IMAGE_STATUS_TEXT, type StatusText } from '../../../common/status';
import { columnsOf, gridTarget, isGridKey } from '../logic/grid-nav';
import { describeMetadata, missingText } from '../logic/metadata';
import { imageProgress } from '../logic/model';
import { sendLine } from '../logic/send-status';
import { isWaitingForMedtech } from '../logic/medtech-check';
import type { Companion } from '../useCompanion';
import { useNow } from '../useNow';
import { InMedtechTag, MedtechCheck } from './MedtechCheck';

export function Badge({ text, status }: { text: StatusText; status?: ImageView['status'] }) {
  return (
    <span className={`badge badge-${text.tone}`} title={status && text.description} data-status={status}>
      <span aria-hidden="true" className="badge-symbol">
        {text.symbol}
      </span>
      {text.label}
    </span>
  );
}

export function StatusBadge({ status }: { status: ImageView['status'] }) {
  return <Badge text={IMAGE_STATUS_TEXT[status]} status={status} />;
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
  companion: Companion;
  image: ImageView;
  selected: boolean;
  /** Roving tabindex: only this group's current card is in the Tab order; arrow keys move between cards. */
  tabbable: boolean;
  /** Its outbox entry (for "next try in 20 s" and Retry), and the clock that counts down to it. */
  outboxItem: OutboxItemView | undefined;
  now: number;
  onFocus: () => void;
  onSelect: (e: MouseEvent) => void;
  onOpen: () => void;
}

function ImageCard({ companion, image, selected, tabbable, outboxItem, now, onFocus, onSelect, onOpen }: CardProps) {
  const p = imageProgress(image, companion.progress);
  const line = sendLine(image, outboxItem, now);
  const tags = describeMetadata(image.metadata);
  const tabIndex = tabbable ? 0 : -1;
  return (
    <li
      className={`image-card${selected ? ' is-selected' : ''}`}
      data-testid="image-card"
      data-image-id={image.id}
      data-status={image.status}
      onFocus={onFocus}
    >
      <button
        type="button"
        tabIndex={tabIndex}
        className="image-select"
        aria-pressed={selected}
        aria-label={`${image.label}, ${IMAGE_STATUS_TEXT[image.status].label}${selected ? ', selected' : ''}`}
        onClick={onSelect}
        onDoubleClick={onOpen}
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
        <MedtechCheck image={image} companion={companion} tabIndex={tabIndex} />
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
            onClick={onOpen}
            aria-label={`Open ${image.label}`}
            disabled={image.status === 'processing' || image.status === 'committed'}
          >
            Open
          </button>
          {image.status === 'failed' && outboxItem ? <RetryButton companion={companion} imageId={image.id} tabIndex={tabIndex} aria-label={`Retry sending ${image.label}`} /> : null}
        </div>
      </div>
    </li>
  );
}

interface GroupProps {
  companion: Companion;
  title: string;
  subtitle?: string;
  images: readonly ImageView[];
  selected: readonly string[];
  onSelect: (id: string, e: MouseEvent, groupIds: string[]) => void;
  onOpen: (id: string) => void;
  /** "Belongs to" groups: send that patient's ready images to THAT patient. */
  other?: boolean;
  actions?: ReactNode;
  testId?: string;
}

export function ImageGroup(props: GroupProps) {
  const ids = props.images.map((i) => i.id);
  const outboxById = new Map((props.companion.state?.outbox ?? []).map((o) => [o.imageId, o]));
  const now = useNow(1000, props.images.some((i) => i.status === 'waiting'));
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
            companion={props.companion}
            image={img}
            selected={props.selected.includes(img.id)}
            tabbable={img.id === current}
            outboxItem={outboxById.get(img.id)}
            now={now}
            onFocus={() => setFocused(img.id)}
            onSelect={(e) => props.onSelect(img.id, e, ids)}
            onOpen={() => props.onOpen(img.id)}
          />
        ))}
      </ul>
    </section>
  );
}

/** Send a failed image again (from its card, the send dialog or the outbox). */
export function RetryButton({ companion, imageId, ...button }: { companion: Companion; imageId: string; tabIndex?: number; 'aria-label'?: string }) {
  return (
    <button type="button" className="button button-small button-primary" onClick={() => void companion.run((api) => api.outbox.retry({ imageId }))} {...button}>
      Retry
    </button>
  );
}

export function groupSummary(images: readonly ImageView[]): string {
  const ready = images.filter((i) => i.status === 'ready').length;
  const needs = images.filter((i) => i.status === 'needs-info').length;
  const parts = [plural(images.length, 'image')];
  if (ready) parts.push(`${ready} ready`);
  if (needs) parts.push(`${needs} need details`);
  return parts.join(' · ');
}
