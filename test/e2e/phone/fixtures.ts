/**
 * The Playwright fixtures the phone specs share: `pc` — the whole stack (gateway, ALEX sandbox, companion
 * core, LAN server) with AROHA launched on the desktop — and `photos`, real and made photos in its temp folder.
 */
import { test as base } from '@playwright/test';
import { preparePhotos, type PhonePhotos } from './photos';
import { AROHA, startPhoneStack, type PhoneStack } from './stack';

export const test = base.extend<{ pc: PhoneStack; photos: PhonePhotos }>({
  pc: async ({}, use) => {
    const pc = await startPhoneStack();
    await pc.launch(AROHA.nhi);
    await use(pc);
    await pc.close();
  },
  photos: async ({ pc }, use) => {
    await use(await preparePhotos(pc.dir));
  },
});
