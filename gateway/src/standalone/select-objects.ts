/**
 * Which version of each object the standalone gateway serves, given what the config dir holds
 * now and what it served last time. Pure.
 *
 * Keep last good (as Kong's controller does): an object that becomes invalid keeps serving its
 * last valid version while the error is reported; a file that cannot be parsed at all keeps
 * every object it held. An object that is gone from a readable file, or whose file is gone,
 * is gone: deleting is how a person revokes.
 */

import type { ConfigDirRead, ConfigEntry, ConfigProblem, ConfigResource } from './config-dir.ts';

/** A valid object and where it was read. */
export interface SelectedObject extends ConfigEntry {
  object: ConfigResource;
}

export interface Selection {
  /** By identity (`identityOf`), in config-dir order. */
  objects: Map<string, SelectedObject>;
  problems: ConfigProblem[];
}

/** `Kind namespace/name`: unique per object, and readable in messages. */
export function identityOf(entry: { kind: string; namespace: string; name: string }): string {
  return `${entry.kind} ${entry.namespace}/${entry.name}`;
}

export function describeEntry(entry: ConfigEntry): string {
  return `${entry.file} (document ${entry.document}) ${identityOf(entry)}`;
}

export function selectObjects(
  read: ConfigDirRead,
  lastGood: ReadonlyMap<string, SelectedObject>,
): Selection {
  const problems: ConfigProblem[] = [];
  const byIdentity = new Map<string, ConfigEntry[]>();
  for (const file of read.files) {
    for (const entry of file.entries) {
      const identity = identityOf(entry);
      const list = byIdentity.get(identity);
      if (list) list.push(entry);
      else byIdentity.set(identity, [entry]);
    }
  }

  const objects = new Map<string, SelectedObject>();
  for (const [identity, entries] of byIdentity) {
    const previous = lastGood.get(identity);
    // The copy that was served keeps the name when a duplicate appears elsewhere; otherwise
    // the first in path order does, so the choice is stable across reloads.
    const owner = entries.find((entry) => entry.file === previous?.file) ?? entries[0]!;
    for (const duplicate of entries) {
      if (duplicate === owner) continue;
      problems.push({
        severity: 'error',
        subject: describeEntry(duplicate),
        message: `duplicate of ${owner.file} (document ${owner.document}); ignored`,
      });
    }
    if (owner.object !== undefined) {
      objects.set(identity, { ...owner, object: owner.object });
      continue;
    }
    const errors = (owner.errors ?? ['invalid']).join('; ');
    if (previous) {
      objects.set(identity, previous);
      problems.push({
        severity: 'error',
        subject: describeEntry(owner),
        message: `${errors} (still serving its last good version)`,
      });
    } else {
      problems.push({
        severity: 'error',
        subject: describeEntry(owner),
        message: `${errors} (not served until fixed)`,
      });
    }
  }

  // A file that could not be parsed: what it held is unknown, so what it held last time stays.
  for (const file of read.files) {
    if (file.readable) continue;
    const kept: string[] = [];
    for (const [identity, previous] of lastGood) {
      if (previous.file !== file.file || objects.has(identity)) continue;
      objects.set(identity, previous);
      kept.push(identity);
    }
    if (kept.length > 0) {
      problems.push({
        severity: 'warning',
        subject: file.file,
        message: `still serving the last good version of ${kept.join(', ')}`,
      });
    }
  }
  return { objects, problems };
}
