/**
 * Recency order of one store's items: an intrusive doubly linked list, so bumping an
 * item is four pointer writes and no allocation. The head is the most recently used
 * item, the tail the next eviction candidate. The links live on the item records
 * themselves (the arena version will keep them as int32 indices in typed arrays).
 */

export interface LruNode<T> {
  prev: T | null;
  next: T | null;
}

export class LruList<T extends LruNode<T>> {
  /** Most recently used. */
  head: T | null = null;
  /** Least recently used: evicted first. */
  tail: T | null = null;

  pushHead(node: T): void {
    node.prev = null;
    node.next = this.head;
    if (this.head !== null) this.head.prev = node;
    else this.tail = node;
    this.head = node;
  }

  unlink(node: T): void {
    const { prev, next } = node;
    if (prev !== null) prev.next = next;
    else this.head = next;
    if (next !== null) next.prev = prev;
    else this.tail = prev;
    node.prev = null;
    node.next = null;
  }

  moveToHead(node: T): void {
    if (this.head === node) return;
    this.unlink(node);
    this.pushHead(node);
  }

  /** Forgets every node at once; the nodes become garbage with their owner's index. */
  clear(): void {
    this.head = null;
    this.tail = null;
  }
}
