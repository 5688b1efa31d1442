/** The first locale of an `Accept-Language` header that the runtime knows, else `en-US`. */
export function preferredLocale(acceptLanguage: string | null): string {
  for (const entry of (acceptLanguage ?? "").split(",")) {
    const tag = entry.split(";")[0]?.trim();
    if (!tag || tag === "*") continue;
    try {
      const [locale] = Intl.DateTimeFormat.supportedLocalesOf(tag);
      if (locale) return locale;
    } catch {
      // Not a language tag: the next one, or the default.
    }
  }
  return "en-US";
}
