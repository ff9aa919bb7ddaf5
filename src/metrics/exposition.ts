/**
 * The Prometheus text exposition of a registry, rendered at most once per `maxAgeMs`.
 *
 * Rendering runs every `collect` callback and the process metrics (which read `/proc`), about a
 * millisecond of CPU on a producing node; fifty scrapers at once would queue behind one another.
 * A render younger than `maxAgeMs` is served as it is. One between `maxAgeMs` and twice that is
 * still served, while a new render runs in the background, so scrapers polling in a loop never
 * wait for one. Older than that (a Prometheus scraping every 15 s), the scrape waits for a fresh
 * render; scrapes arriving meanwhile share it. A scrape therefore sees values at most
 * `2 * maxAgeMs` old, counted from the start of the render that read them.
 */
import type { Registry } from "prom-client";

/** How long a render is served as fresh (ms); it is served while a new one renders for as long again. */
export const EXPOSITION_MAX_AGE_MS = 1000;

/** Renders a registry's exposition on demand, reusing a recent render. */
export class ExpositionCache {
  private text?: string;
  private renderedAt = -Infinity;
  private pending?: Promise<string>;

  /**
   * @param registry the registry to render
   * @param maxAgeMs how long one render is served (ms); 0 renders on every call
   * @param now monotonic clock (ms)
   */
  constructor(
    private readonly registry: Pick<Registry, "metrics">,
    private readonly maxAgeMs = EXPOSITION_MAX_AGE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The exposition text: synchronously when a render younger than `2 * maxAgeMs` exists (the HTTP
   * handler then answers without waiting; past `maxAgeMs` a new render starts in the background),
   * else a promise of a new render shared by every caller. A failed render is not cached; its
   * callers get the error (a failed background render is retried by the next call).
   */
  get(): string | Promise<string> {
    const age = this.now() - this.renderedAt;
    if (this.text !== undefined && age < this.maxAgeMs) return this.text;
    if (this.text !== undefined && age < 2 * this.maxAgeMs) {
      this.render().catch(() => undefined);
      return this.text;
    }
    return this.render();
  }

  private render(): Promise<string> {
    if (this.pending) return this.pending;
    const startedAt = this.now(); // values are read from here on: the text's age counts from here
    this.pending = this.registry.metrics().then(
      (text) => {
        this.text = text;
        this.renderedAt = startedAt;
        this.pending = undefined;
        return text;
      },
      (e: unknown) => {
        this.pending = undefined;
        throw e;
      },
    );
    return this.pending;
  }
}
