/**
 * Watching a config dir: one non-recursive `fs.watch` per directory the loader reads (dot-dirs,
 * `node_modules` and skipped paths left out), kept in step with the tree by `sync()`.
 *
 * Why not `watch(dir, { recursive: true })`: on Linux, Node implements it with a watch per file,
 * which stays on the file's old inode once the file is replaced by a rename — what editors'
 * atomic saves, `sed -i`, `git checkout` and Kubernetes' atomic writer (ConfigMap volumes) all
 * do. After the first such save, no change to that file was ever reported again. A directory's
 * own watch reports every entry created, renamed, deleted or written in it.
 */

import { type FSWatcher, watch } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface DirectoryWatcher {
  /** Watches directories that appeared, stops watching those that went. Never rejects. */
  sync(): Promise<void>;
  close(): void;
}

export interface WatchDirectoriesOptions {
  /** Absolute paths of directories not to watch (the state dir). */
  skip: (dir: string) => boolean;
  /** A change in `dir`; `name` is the entry that changed, when the platform says. */
  onChange: (dir: string, name: string | undefined) => void;
  /** The root directory can no longer be watched. */
  onError: (error: Error) => void;
}

export function watchDirectories(root: string, options: WatchDirectoriesOptions): DirectoryWatcher {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;

  const open = (dir: string) => {
    const watcher = watch(dir, (_event, name) => options.onChange(dir, name?.toString()));
    watcher.on('error', (error) => {
      // A subdirectory that was deleted: the next sync forgets it. The root: say so.
      watcher.close();
      watchers.delete(dir);
      if (dir === root) options.onError(error);
    });
    watchers.set(dir, watcher);
  };

  const listDirectories = async (): Promise<Set<string>> => {
    const found = new Set<string>();
    const visited = new Set<string>(); // real paths: symlinked directories may loop
    const walk = async (dir: string): Promise<void> => {
      const real = await realpath(dir).catch(() => undefined);
      if (real === undefined || visited.has(real)) return;
      visited.add(real);
      found.add(dir);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
        const path = join(dir, entry.name);
        if (options.skip(path)) continue;
        const isDirectory =
          entry.isDirectory() ||
          (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory());
        if (isDirectory) await walk(path);
      }
    };
    await walk(root);
    return found;
  };

  return {
    async sync() {
      if (closed) return;
      const wanted = await listDirectories();
      if (closed) return;
      for (const [dir, watcher] of watchers) {
        if (!wanted.has(dir)) {
          watcher.close();
          watchers.delete(dir);
        }
      }
      for (const dir of wanted) {
        if (watchers.has(dir)) continue;
        try {
          open(dir);
        } catch (error) {
          // Gone between the listing and now (ENOENT) or a symlink to a file (ENOTDIR).
          if (dir === root) options.onError(error as Error);
        }
      }
    },
    close() {
      closed = true;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
