import { useEffect, useId, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

interface DialogProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Footer buttons, after a "Cancel" (which closes) when `cancel` is set. */
  actions?: ReactNode;
  cancel?: boolean;
  size?: 'small' | 'medium' | 'large' | 'full';
  drawer?: boolean;
  /** Element to focus first (else the first focusable); 'cancel' for the safe choice. */
  initialFocus?: React.RefObject<HTMLElement | null> | 'cancel';
  className?: string;
  /** Leave the patient banner (the top bar) visible above the dialog. */
  belowBanner?: boolean;
}

/** A modal dialog labelled by its title: focus moves in and is trapped (Tab wraps), Esc closes, focus returns after. */
export function Dialog({ title, onClose, children, actions, cancel, size = 'medium', drawer = false, initialFocus, className, belowBanner = false }: DialogProps) {
  const ref = useRef<HTMLDivElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const top = useBannerBottom(belowBanner);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = (initialFocus === 'cancel' ? cancelRef : initialFocus)?.current ?? el?.querySelector<HTMLElement>('[data-autofocus]') ?? el?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? el)?.focus();
    const onKey = (e: KeyboardEvent): void => {
      // Only the top-most dialog answers.
      const dialogs = document.querySelectorAll('[data-dialog]');
      if (!el || dialogs[dialogs.length - 1] !== el) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        closeRef.current();
      }
      if (e.key !== 'Tab') return;
      const items = [...el.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((x) => x.offsetParent !== null || x === document.activeElement);
      const [edge, wrapTo] = e.shiftKey ? [items[0], items[items.length - 1]] : [items[items.length - 1], items[0]];
      // Tab moves on by itself, except from the edge (or from outside), where it wraps around.
      if (items.length > 0 && document.activeElement !== edge && el.contains(document.activeElement)) return;
      e.preventDefault();
      (wrapTo ?? el).focus();
    };
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      if (previous && document.contains(previous)) previous.focus();
    };
  }, []);

  return (
    <div className={drawer ? 'backdrop backdrop-drawer' : 'backdrop'} style={top > 0 ? ({ top, '--dialog-top': `${top}px` } as React.CSSProperties) : undefined} onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        data-dialog
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        className={`${drawer ? 'drawer' : `dialog dialog-${size}`} ${className ?? ''}`}
      >
        {/* Plain divs: a <header>/<footer> outside a sectioning element would be a second banner/contentinfo landmark. */}
        <div className="dialog-header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            <span aria-hidden="true">✕</span>
          </button>
        </div>
        <div className="dialog-body">{children}</div>
        {actions ? (
          <div className="dialog-footer">
            {cancel ? (
              <button type="button" ref={cancelRef} className="button" onClick={onClose}>
                Cancel
              </button>
            ) : null}
            {actions}
          </div>
        ) : null}
      </div>
    </div>
  );
}

/** "Are you sure?" for destructive actions. The safe choice has the focus. */
export function ConfirmDialog(props: { title: string; message: ReactNode; confirmLabel: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Dialog
      title={props.title}
      onClose={props.onCancel}
      size="small"
      cancel
      initialFocus="cancel"
      actions={
        <button type="button" className="button button-danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      }
    >
      <p>{props.message}</p>
    </Dialog>
  );
}

/** Where the top bar (with the patient banner) ends on screen, in CSS px; 0 when not asked or scrolled away. */
function useBannerBottom(enabled: boolean): number {
  const [bottom, setBottom] = useState(0);
  useLayoutEffect(() => {
    if (!enabled) return undefined;
    const measure = (): void => setBottom(Math.max(0, Math.round(document.querySelector('.topbar')?.getBoundingClientRect().bottom ?? 0)));
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [enabled]);
  return bottom;
}
