/** The app's mark (the same drawing as icons/*.png): a shield with a check on slate blue. */
export function BrandMark({ size = 28 }: { size?: number }) {
  return (
    <svg className="brand-mark" width={size} height={size} viewBox="0 0 100 100" aria-hidden="true">
      <rect x="4" y="4" width="92" height="92" rx="20" fill="#1f3a5f" stroke="rgba(255,255,255,0.35)" />
      <path d="M26 20 H74 V52 A24 32 0 0 1 50 84 A24 32 0 0 1 26 52 Z" fill="#fff" />
      <path d="M37 50 L47 60 L64 40" fill="none" stroke="#1f3a5f" strokeWidth="7.5" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
