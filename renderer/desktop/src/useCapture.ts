/** Getting photos in: the picker, a drop anywhere in the window, a pasted image; sent in batches, the refused files kept for the list. */
import { useEffect, useRef, useState } from 'react';
import type { CompanionApi } from '../../../shared/contracts/bridge';
import { AppError } from '../../../shared/errors/app-error';
import { bytesToBase64, pastedName, planBatches, type BatchPlan } from '../../common/files';
import type { Companion } from './useCompanion';

export type Rejected = Awaited<ReturnType<CompanionApi['images']['addFiles']>>['rejected'][number];

const UNREADABLE = new AppError('ERR_STORAGE_IO', { message: 'This file could not be read from the PC. Try adding it again.' }).toBody();

export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

/** Adds the handlers to `window`; returns what removes them. */
export function listen(handlers: { [K in keyof WindowEventMap]?: (e: WindowEventMap[K]) => void }): () => void {
  const entries = Object.entries(handlers) as [string, EventListener][];
  for (const [type, fn] of entries) window.addEventListener(type, fn);
  return () => entries.forEach(([type, fn]) => window.removeEventListener(type, fn));
}

async function sendBatch(companion: Companion, files: File[], batch: BatchPlan['batches'][number]): Promise<{ imageIds: string[]; rejected: Rejected[] }> {
  try {
    const payload = await Promise.all(batch.map(async (b) => ({ name: b.name, dataBase64: bytesToBase64(new Uint8Array(await files[b.index]!.arrayBuffer())) })));
    return (await companion.run((api) => api.images.addFiles({ files: payload }))) ?? { imageIds: [], rejected: [] };
  } catch {
    return { imageIds: [], rejected: batch.map((b) => ({ name: b.name, error: UNREADABLE })) };
  }
}

/** `onFirstAdded`: the first new photo of a batch of files (it gets selected). */
export function useCapture(companion: Companion, hasPatient: boolean, onFirstAdded: (id: string) => void) {
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const [adding, setAdding] = useState(0);
  const [rejected, setRejected] = useState<Rejected[]>([]);

  const addFiles = async (files: File[]): Promise<void> => {
    if (files.length === 0) return;
    if (!hasPatient) return companion.reportError(new AppError('ERR_NO_PATIENT'));
    const plan = planBatches(files);
    const refused: Rejected[] = [...plan.rejected];
    setAdding((n) => n + files.length - plan.rejected.length);
    for (const [i, batch] of plan.batches.entries()) {
      const res = await sendBatch(companion, files, batch);
      refused.push(...res.rejected);
      if (i === 0 && res.imageIds[0] !== undefined) onFirstAdded(res.imageIds[0]);
      setAdding((n) => Math.max(0, n - batch.length));
    }
    if (refused.length > 0) setRejected((r) => [...r, ...refused].slice(-20));
  };

  const hasFiles = (e: DragEvent): boolean => [...(e.dataTransfer?.types ?? [])].includes('Files');
  useEffect(() =>
    listen({
      dragenter: (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        dragDepth.current += 1;
        setDragging(true);
      },
      dragover: (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = hasPatient ? 'copy' : 'none';
      },
      dragleave: (e) => {
        if (!hasFiles(e)) return;
        dragDepth.current = Math.max(0, dragDepth.current - 1);
        if (dragDepth.current === 0) setDragging(false);
      },
      drop: (e) => {
        e.preventDefault();
        dragDepth.current = 0;
        setDragging(false);
        if (hasPatient) void addFiles([...(e.dataTransfer?.files ?? [])]);
      },
      paste: (e) => {
        if (isTyping(e.target)) return;
        const at = new Date();
        const files = [...(e.clipboardData?.files ?? [])].map((f) => (f.name && f.name !== 'image.png' ? f : new File([f], pastedName(f.type, at), { type: f.type })));
        if (files.length === 0) return;
        e.preventDefault();
        void addFiles(files);
      },
    }),
  );

  return { dragging, adding, rejected, dismissRejected: () => setRejected([]), addFiles };
}
