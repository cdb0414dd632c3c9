/**
 * A real browser for the web page tests (issue #9): Debian's Chromium driven by playwright-core.
 * Playwright's own browser downloads are not used; CI installs the `chromium` package.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Headless and quiet: without the background-networking flags Chromium keeps calling Google
 * services, which on a machine without internet access means a stream of failing requests.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium from CHROMIUM_PATH (default /usr/bin/chromium); fails, never skips, without it. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: the web page is tested in a real browser. ` +
        'Install it (Debian/Ubuntu: sudo apt-get install chromium; .ci/run does this) ' +
        'or set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  }
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}

/**
 * The DOM as the page-side callbacks (`page.evaluate`, `waitForFunction`) see it. test/ is
 * compiled without the DOM lib (adding it would change Node's timer and fetch types for every
 * test), so the little these callbacks touch is declared here; they run in Chromium.
 */
export interface PageElement {
  readonly id: string;
  readonly textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  readonly hidden: boolean;
  /** Images only. */
  readonly complete?: boolean;
  readonly naturalWidth?: number;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getBoundingClientRect(): { width: number; height: number };
}

export interface PageGlobals {
  document: {
    activeElement: PageElement | null;
    getElementById(id: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
    documentElement: { scrollWidth: number };
  };
  innerWidth: number;
  getComputedStyle(el: PageElement): { outlineStyle: string; outlineWidth: string };
  MutationObserver: new (callback: () => void) => {
    observe(target: PageElement, options: Record<string, boolean>): void;
  };
  DataTransfer: new () => { items: { add(file: unknown): void } };
  File: new (parts: string[], name: string, options: { type: string }) => unknown;
  /** Set by the tests. */
  imgpipeTest?: { loadedOnce: true; seen: string[] };
}
