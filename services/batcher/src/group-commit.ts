export interface GroupCommitOptions {
  /** A group is written as soon as it holds this many items. */
  maxItems: number;
  /** ... or this long after its first item arrived. */
  maxWaitMs: number;
}

interface OpenGroup<T> {
  items: T[];
  written: Promise<void>;
  close(): void;
}

/**
 * Group commit: the items added while a group is open are written together by one `write` call, and each
 * `add` resolves once that write has resolved (rejects if it rejected). One statement and one commit for many
 * messages instead of one each, while a message is still only acknowledged after its own row is committed. A
 * group closes when full or `maxWaitMs` after it opened; the next item opens another, so groups keep being
 * written while earlier ones are still in flight.
 */
export function groupCommit<T>(
  write: (items: readonly T[]) => Promise<unknown>,
  options: GroupCommitOptions,
): (item: T) => Promise<void> {
  let open: OpenGroup<T> | null = null;
  const openGroup = (): OpenGroup<T> => {
    const items: T[] = [];
    let release!: () => void;
    const written = new Promise<void>((resolve) => {
      release = resolve;
    }).then(async () => {
      await write(items);
    });
    const timer = setTimeout(() => group.close(), options.maxWaitMs);
    const group: OpenGroup<T> = {
      items,
      written,
      close() {
        clearTimeout(timer);
        if (open === group) open = null;
        release();
      },
    };
    return group;
  };
  return (item) => {
    open ??= openGroup();
    const group = open;
    group.items.push(item);
    if (group.items.length >= options.maxItems) group.close();
    return group.written;
  };
}
