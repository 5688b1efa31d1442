/** A message that screen readers announce at once; dismissable when `onDismiss` is given. */
export function Alert({ children, onDismiss }: { children: string; onDismiss?: () => void }) {
  return (
    <div role="alert" className="alert">
      <span>{children}</span>
      {onDismiss && (
        <button type="button" className="link" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
