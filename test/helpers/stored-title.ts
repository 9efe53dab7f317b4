/** The title a clinician sees in Medtech for a resource the ALEX sandbox stored (Media content, Inbox Scan attachment). */
export function storedTitle(resource: Record<string, unknown>): string | undefined {
  if (resource.resourceType === 'Media') return (resource.content as { title?: string } | undefined)?.title;
  return (resource.content as { attachment?: { title?: string } }[] | undefined)?.[0]?.attachment?.title;
}
