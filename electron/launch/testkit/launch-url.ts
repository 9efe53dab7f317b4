/** Canonical launch URLs for tests, as Evolution sends them: values %-encoded once. */
import { LAUNCH_SCHEME, type LaunchTicket } from '../parse';

export function buildLaunchUrl(context: string, signature: string, via: LaunchTicket['via'] = 'custom-scheme', port = 0): string {
  const q = `context=${encodeURIComponent(context)}&signature=${encodeURIComponent(signature)}`;
  return via === 'custom-scheme' ? `${LAUNCH_SCHEME}://launch?${q}` : `http://127.0.0.1:${port}/launch?${q}`;
}
