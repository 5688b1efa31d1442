import { createAuthClient } from "better-auth/react";

/** Better Auth in the browser, on this app's own `/api/auth`. */
export const authClient = createAuthClient();

/** What went wrong with a sign-in, sign-up or account call, for people. */
export function authErrorMessage(error: { status?: number; code?: string; message?: string }) {
  if (error.status === 429) return "Too many attempts. Wait a few seconds, then try again.";
  switch (error.code) {
    case "INVALID_EMAIL_OR_PASSWORD":
      return "Wrong email or password.";
    case "INVALID_PASSWORD":
      return "Wrong password.";
    case "USER_ALREADY_EXISTS":
    case "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL":
      return "An account with this email already exists. Sign in instead.";
    case "PASSWORD_TOO_SHORT":
      return "The password needs at least 8 characters.";
    case "PASSWORD_TOO_LONG":
      return "The password can have at most 128 characters.";
    case "INVALID_EMAIL":
      return "This does not look like an email address.";
  }
  if (!error.status) return "Could not reach the server. Check your connection and try again.";
  return error.message || "Something went wrong. Please try again.";
}
