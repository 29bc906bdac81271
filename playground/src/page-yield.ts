/** Resolves after a task boundary: the browser may paint (a status line, a progress bar) and run timers. */
export function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
