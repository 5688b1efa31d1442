import type { Ref } from "react";

/**
 * A message that screen readers announce at once; dismissable when `onDismiss` is given. With a
 * `ref` it can take focus (a form moves focus to its error).
 */
export function Alert({
  children,
  onDismiss,
  ref,
}: {
  children: string;
  onDismiss?: () => void;
  ref?: Ref<HTMLDivElement>;
}) {
  return (
    <div role="alert" className="alert" ref={ref} tabIndex={ref ? -1 : undefined}>
      <span>{children}</span>
      {onDismiss && (
        <button type="button" className="link" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
