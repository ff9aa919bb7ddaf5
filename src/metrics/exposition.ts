/**
 * The Prometheus text exposition of a registry, rendered at most once per `maxAgeMs`.
 *
 * Rendering runs every `collect` callback and the process metrics (which read `/proc`), about a
 * millisecond of CPU on a producing node; fifty scrapers at once would queue behind one another.
 * Every scrape within `maxAgeMs` of a render gets that render's text, and scrapes arriving while a
 * render runs wait for it rather than starting another, so a scrape sees values at most
 * `maxAgeMs` old (counted from the start of the render that read them).
 */
import type { Registry } from "prom-client";

/** How long a rendered exposition is served again (ms): well under any scrape interval. */
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
   * The exposition text: synchronously when a render younger than `maxAgeMs` exists (the HTTP
   * handler then answers without waiting), else a promise of a new render shared by every caller.
   * A failed render is not cached; its callers get the error.
   */
  get(): string | Promise<string> {
    if (this.text !== undefined && this.now() - this.renderedAt < this.maxAgeMs) return this.text;
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
