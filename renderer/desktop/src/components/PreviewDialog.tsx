import { useEffect, useRef, useState, type PointerEvent as RPointerEvent } from 'react';
import type { Annotation, ImageEdits, ImageView } from '../../../../shared/contracts/bridge';
import { addAnnotation, circleRadius, isMeaningfulArrow, rectFrom, rotateEdits, rotatedSize, toFraction, undoLastAnnotation, type Pt } from '../logic/geometry';
import { formatPatientName } from '../../../common/format';
import { editorKey, keyDrawStatus, START_KEY_DRAW, type DrawTool, type KeyDraw } from '../logic/editor-keys';
import { describeMetadata } from '../logic/metadata';
import type { Companion } from '../useCompanion';
import { Dialog } from './Dialog';
import { Segmented } from './SettingsDialog';
import { StatusBadge } from './ImageGrid';

type Colour = Annotation['colour'];
const TOOLS: { key: DrawTool; display: string }[] = [{ key: 'crop', display: 'Crop' }, { key: 'arrow', display: 'Arrow' }, { key: 'circle', display: 'Circle' }, { key: 'text', display: 'Text' }];
const COLOURS: Record<Colour, { label: string; stroke: string }> = {
  red: { label: 'Red', stroke: '#e5251b' },
  yellow: { label: 'Yellow', stroke: '#f7c600' },
  white: { label: 'White', stroke: '#ffffff' },
  black: { label: 'Black', stroke: '#111111' },
};

/** Zoomable, pannable view of the rendered preview (edits applied by the core). */
function ZoomView({ src, alt }: { src: string; alt: string }) {
  const [scale, setScale] = useState(1);
  const [offset, setOffset] = useState({ x: 0, y: 0 });
  const drag = useRef<{ x: number; y: number; ox: number; oy: number } | null>(null);
  const fit = (): void => {
    setScale(1);
    setOffset({ x: 0, y: 0 });
  };
  const zoom = (f: number): void => {
    setScale((s) => {
      const next = Math.min(8, Math.max(1, s * f));
      if (next === 1) setOffset({ x: 0, y: 0 });
      return next;
    });
  };
  return (
    <div className="zoom">
      <div className="toolbar" role="toolbar" aria-label="Zoom">
        <button type="button" className="button button-small" onClick={() => zoom(1 / 1.5)} disabled={scale <= 1} aria-label="Zoom out">
          −
        </button>
        <span className="zoom-level" aria-live="polite">
          {Math.round(scale * 100)}%
        </span>
        <button type="button" className="button button-small" onClick={() => zoom(1.5)} disabled={scale >= 8} aria-label="Zoom in">
          +
        </button>
        <button type="button" className="button button-small" onClick={fit}>
          Fit
        </button>
        <span className="muted small">{scale > 1 ? 'Drag to move around' : 'Scroll or press + to zoom'}</span>
      </div>
      <div
        className={`zoom-stage${scale > 1 ? ' can-pan' : ''}`}
        onWheel={(e) => zoom(e.deltaY < 0 ? 1.25 : 1 / 1.25)}
        onPointerDown={(e) => {
          if (scale <= 1) return;
          e.currentTarget.setPointerCapture(e.pointerId);
          drag.current = { x: e.clientX, y: e.clientY, ox: offset.x, oy: offset.y };
        }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (d) setOffset({ x: d.ox + (e.clientX - d.x) / scale, y: d.oy + (e.clientY - d.y) / scale });
        }}
        onPointerUp={() => (drag.current = null)}
        onKeyDown={(e) => {
          if (e.key === '+' || e.key === '=') zoom(1.5);
          else if (e.key === '-') zoom(1 / 1.5);
          else if (e.key === '0') fit();
        }}
        tabIndex={0}
        aria-label="Preview; + and − zoom, 0 fits"
      >
        <img src={src} alt={alt} draggable={false} style={{ transform: `scale(${scale}) translate(${offset.x}px, ${offset.y}px)` }} data-testid="preview-image" />
      </div>
    </div>
  );
}

function AnnotationShape({ a, w, h, sw }: { a: Annotation; w: number; h: number; sw: number }) {
  const c = COLOURS[a.colour].stroke;
  switch (a.kind) {
    case 'arrow': {
      const x1 = a.from.x * w;
      const y1 = a.from.y * h;
      const x2 = a.to.x * w;
      const y2 = a.to.y * h;
      const ang = Math.atan2(y2 - y1, x2 - x1);
      const head = sw * 5;
      const p1 = `${x2 - head * Math.cos(ang - 0.45)},${y2 - head * Math.sin(ang - 0.45)}`;
      const p2 = `${x2 - head * Math.cos(ang + 0.45)},${y2 - head * Math.sin(ang + 0.45)}`;
      return (
        <g stroke={c} strokeWidth={sw} strokeLinecap="round" fill={c}>
          <line x1={x1} y1={y1} x2={x2} y2={y2} />
          <polygon points={`${x2},${y2} ${p1} ${p2}`} />
        </g>
      );
    }
    case 'circle':
      return <circle cx={a.centre.x * w} cy={a.centre.y * h} r={a.radius * Math.min(w, h)} stroke={c} strokeWidth={sw} fill="none" />;
    case 'text':
      return (
        <text x={a.at.x * w} y={a.at.y * h} fill={c} fontSize={sw * 9} fontWeight={700} stroke={a.colour === 'white' || a.colour === 'yellow' ? '#000' : '#fff'} strokeWidth={sw / 3} paintOrder="stroke">
          {a.text}
        </text>
      );
  }
}

/** Draws crop and annotations over the (unedited, upright) thumbnail, in fractions of the rotated image. */
function Editor({ image, edits, onChange }: { image: ImageView; edits: ImageEdits; onChange: (e: ImageEdits) => void }) {
  const [tool, setTool] = useState<DrawTool>('arrow');
  const [colour, setColour] = useState<Colour>('red');
  const [text, setText] = useState('');
  const [drag, setDrag] = useState<{ start: Pt; end: Pt } | null>(null);
  // The keyboard's point (arrow keys move it, Enter places it) and whether the photo has the focus.
  const [keys, setKeys] = useState<KeyDraw>(START_KEY_DRAW);
  const [keyFocus, setKeyFocus] = useState(false);
  const svg = useRef<SVGSVGElement>(null);
  const W = image.width ?? 1000;
  const H = image.height ?? 750;
  const { width: w, height: h } = rotatedSize(W, H, edits.rotate);
  const sw = Math.max(2, Math.min(w, h) / 160);
  const transform = edits.rotate === 90 ? `translate(${H} 0) rotate(90)` : edits.rotate === 180 ? `translate(${W} ${H}) rotate(180)` : edits.rotate === 270 ? `translate(0 ${W}) rotate(270)` : undefined;

  const at = (e: RPointerEvent): Pt => toFraction(e.clientX, e.clientY, svg.current!.getBoundingClientRect());
  /** The mark the tool makes from two points (the crop is not a mark). */
  const markFrom = (start: Pt, end: Pt): Annotation | null =>
    tool === 'arrow'
      ? { kind: 'arrow', from: start, to: end, colour }
      : tool === 'circle'
        ? { kind: 'circle', centre: start, radius: circleRadius(start, end, w, h), colour }
        : tool === 'text' && text.trim()
          ? { kind: 'text', at: end, text: text.trim().slice(0, 200), colour }
          : null;
  const finish = (start: Pt, end: Pt): void => {
    const crop = tool === 'crop' ? rectFrom(start, end) : null;
    const mark = tool === 'arrow' && !isMeaningfulArrow(start, end) ? null : markFrom(start, end);
    if (crop) onChange({ ...edits, crop });
    else if (mark) onChange(addAnnotation(edits, mark));
  };

  const onStageKey = (e: React.KeyboardEvent<SVGSVGElement>): void => {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const r = editorKey(keys, tool, e.key, e.shiftKey);
    if (!r.handled) return;
    e.preventDefault();
    setKeys(r.state);
    if (r.place) finish(r.place.start, r.place.end);
  };
  const keyDraft = keyFocus && keys.start !== null ? { start: keys.start, end: keys.cursor } : null;
  const active = drag ?? keyDraft;

  const preview = active && tool !== 'text' ? markFrom(active.start, active.end) : null;
  const cropDraft = active && tool === 'crop' ? rectFrom(active.start, active.end, 0) : null;
  const crop = cropDraft ?? edits.crop;

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Edit tools">
        <button type="button" className="button button-small" onClick={() => onChange(rotateEdits(edits, 'left'))}>
          ⟲ Rotate left
        </button>
        <button type="button" className="button button-small" onClick={() => onChange(rotateEdits(edits, 'right'))}>
          ⟳ Rotate right
        </button>
        <span className="toolbar-sep" aria-hidden="true" />
        <Segmented name="tool" role="radiogroup" aria-label="Tool" options={TOOLS} value={tool} onChange={setTool} />
        <label className="inline-field">
          <span>Colour</span>
          <select value={colour} onChange={(e) => setColour(e.target.value as Colour)}>
            {Object.entries(COLOURS).map(([key, c]) => (
              <option key={key} value={key}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {tool === 'text' ? (
          <label className="inline-field">
            <span>Text</span>
            <input value={text} maxLength={200} onChange={(e) => setText(e.target.value)} placeholder="Type, then click the photo" />
          </label>
        ) : null}
        <span className="toolbar-sep" aria-hidden="true" />
        <button type="button" className="button button-small" onClick={() => onChange(undoLastAnnotation(edits))} disabled={edits.annotations.length === 0}>
          Undo last mark
        </button>
        <button type="button" className="button button-small" onClick={() => onChange({ rotate: edits.rotate, annotations: edits.annotations })} disabled={!edits.crop}>
          Remove crop
        </button>
      </div>
      <p className="muted small">
        {tool === 'crop' ? 'Drag a rectangle to keep that part of the photo.' : tool === 'text' ? 'Type the text, then click where it goes.' : `Drag on the photo to draw ${tool === 'arrow' ? 'an arrow' : 'a circle'}.`}{' '}
        Or with the keyboard: Tab to the photo, move the point with the arrow keys (Shift for bigger steps), Enter to place it.
      </p>
      <p className="visually-hidden" aria-live="polite" data-testid="editor-key-status">
        {keyFocus ? keyDrawStatus(keys, tool) : ''}
      </p>
      <div className="editor-stage">
        <svg
          ref={svg}
          viewBox={`0 0 ${w} ${h}`}
          className="editor-svg"
          role="application"
          tabIndex={0}
          aria-label={`Photo being edited: rotated ${edits.rotate}°, ${edits.annotations.length} marks${edits.crop ? ', cropped' : ''}`}
          aria-roledescription="photo editor"
          data-testid="editor-stage"
          onKeyDown={onStageKey}
          onFocus={() => setKeyFocus(true)}
          onBlur={() => setKeyFocus(false)}
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            const p = at(e);
            setDrag({ start: p, end: p });
          }}
          onPointerMove={(e) => drag && setDrag({ start: drag.start, end: at(e) })}
          onPointerUp={(e) => {
            if (!drag) return;
            finish(drag.start, at(e));
            setDrag(null);
          }}
        >
          {image.thumbnailUrl ? <image href={image.thumbnailUrl} width={W} height={H} transform={transform} preserveAspectRatio="none" /> : null}
          {crop ? (
            <g>
              <path
                d={`M0 0H${w}V${h}H0Z M${crop.x * w} ${crop.y * h}V${(crop.y + crop.height) * h}H${(crop.x + crop.width) * w}V${crop.y * h}Z`}
                fill="rgba(0,0,0,0.55)"
                fillRule="evenodd"
              />
              <rect x={crop.x * w} y={crop.y * h} width={crop.width * w} height={crop.height * h} fill="none" stroke="#fff" strokeWidth={sw / 1.5} strokeDasharray={`${sw * 3} ${sw * 2}`} />
            </g>
          ) : null}
          {edits.annotations.map((a, i) => (
            <AnnotationShape key={i} a={a} w={w} h={h} sw={sw} />
          ))}
          {preview ? <AnnotationShape a={preview} w={w} h={h} sw={sw} /> : null}
          {keyFocus ? (
            <g stroke="#fff" strokeWidth={sw / 1.5} data-testid="editor-key-point">
              <line x1={keys.cursor.x * w - sw * 6} y1={keys.cursor.y * h} x2={keys.cursor.x * w + sw * 6} y2={keys.cursor.y * h} />
              <line x1={keys.cursor.x * w} y1={keys.cursor.y * h - sw * 6} x2={keys.cursor.x * w} y2={keys.cursor.y * h + sw * 6} />
              <circle cx={keys.cursor.x * w} cy={keys.cursor.y * h} r={sw * 2} fill="none" stroke="#000" />
            </g>
          ) : null}
        </svg>
      </div>
    </div>
  );
}

export function PreviewDialog({ companion, image, onClose }: { companion: Companion; image: ImageView; onClose: () => void }) {
  const [mode, setMode] = useState<'view' | 'edit'>('view');
  const [src, setSrc] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [edits, setEdits] = useState<ImageEdits>(image.edits);
  const [saving, setSaving] = useState(false);
  const editsKey = JSON.stringify(image.edits);
  const locked = image.status === 'sending' || image.status === 'waiting' || image.status === 'committed';

  // `run` is stable; the companion object is new on every state update and must not ask for a new preview.
  const { run } = companion;
  useEffect(() => {
    let live = true;
    setLoading(true);
    void run((api) => api.images.preview({ id: image.id, maxEdge: 2048 }))
      .then((p) => {
        if (live && p) setSrc(p.dataUrl);
      })
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [run, image.id, editsKey]);

  const save = async (): Promise<void> => {
    setSaving(true);
    const ok = await companion.run((api) => api.images.edit({ id: image.id, edits }));
    setSaving(false);
    if (ok) setMode('view');
  };
  const startEditing = (): void => {
    setEdits(image.edits);
    setMode('edit');
  };

  return (
    <Dialog
      title={image.label}
      onClose={onClose}
      belowBanner
      size="full"
      actions={
        mode === 'edit' ? (
          <>
            <button type="button" className="button" onClick={() => setMode('view')}>
              Cancel changes
            </button>
            <button type="button" className="button button-primary" disabled={JSON.stringify(edits) === editsKey || saving} onClick={() => void save()}>
              {saving ? 'Saving…' : 'Save changes'}
            </button>
          </>
        ) : (
          <>
            <button type="button" className="button" onClick={startEditing} disabled={locked || !image.thumbnailUrl}>
              Edit (rotate, crop, mark)
            </button>
            <button type="button" className="button button-primary" onClick={onClose}>
              Done
            </button>
          </>
        )
      }
    >
      <p className={`preview-patient${image.isWorkingPatient ? '' : ' is-other'}`} data-testid="preview-patient">
        For <strong>{formatPatientName(image.patient)}</strong> · NHI {image.patient.nhi}
        {image.isWorkingPatient ? '' : ' — not the patient on screen'}
      </p>
      <div className="preview-head">
        <StatusBadge status={image.status} />
        <span className="muted">{describeMetadata(image.metadata) || 'No details yet'}</span>
        {locked ? <span className="muted small">Already sent — it can no longer be changed.</span> : null}
      </div>
      {mode === 'edit' ? (
        <Editor image={image} edits={edits} onChange={setEdits} />
      ) : src ? (
        <ZoomView src={src} alt={`Preview of ${image.label} with its edits`} />
      ) : (
        <div className="empty-state" role="status">
          {loading ? <div className="spinner" aria-hidden="true" /> : null}
          <p>{loading ? 'Preparing the preview…' : 'The preview could not be made.'}</p>
        </div>
      )}
    </Dialog>
  );
}
