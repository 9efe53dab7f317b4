/** The body-site picker's list: favourites first, then the rest A–Z; a search matches names and synonyms. */
import { BODY_SITES, findBodySite, LATERALITIES, searchBodySites, type BodySite, type LateralityKey } from '../../../shared/coded/values';

export function siteGroups(query: string): { favourites: BodySite[]; others: BodySite[] } {
  if (query.trim() !== '') return { favourites: [], others: searchBodySites(query, BODY_SITES.length) };
  const favourites = BODY_SITES.filter((s) => s.favourite === true);
  const others = BODY_SITES.filter((s) => s.favourite !== true).sort((a, b) => a.display.localeCompare(b.display));
  return { favourites, others };
}

export function siteLabel(code: string | undefined, laterality: LateralityKey | undefined): string | undefined {
  if (code === undefined) return undefined;
  const site = findBodySite(code);
  if (site === undefined) return undefined;
  const side = laterality === undefined ? undefined : LATERALITIES.find((l) => l.key === laterality)?.display;
  return side === undefined ? site.display : `${site.display}, ${side.toLowerCase()}`;
}

export function isLateral(code: string | undefined): boolean {
  return code !== undefined && findBodySite(code)?.lateral === true;
}
