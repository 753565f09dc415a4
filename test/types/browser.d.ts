/**
 * The browser globals the console tests use inside page.evaluate() callbacks (that code runs in
 * Chromium, not in Node). Declared here, as the slice used, rather than with lib "dom", whose
 * fetch and Body types clash with Node's in the appliance code this program also compiles.
 */
interface BrowserRect {
  right: number;
  height: number;
}

interface HTMLElement {
  innerText: string;
  scrollWidth: number;
  clientWidth: number;
  scrollHeight: number;
  closest(selector: string): HTMLElement | null;
  querySelector(selector: string): HTMLElement | null;
  querySelectorAll(selector: string): Iterable<HTMLElement>;
  getBoundingClientRect(): BrowserRect;
}

declare const document: {
  documentElement: HTMLElement;
  querySelector(selector: string): HTMLElement | null;
  querySelectorAll(selector: string): Iterable<HTMLElement>;
};
declare function getComputedStyle(element: HTMLElement): { lineHeight: string };
declare const localStorage: { length: number };
declare const sessionStorage: { length: number };
