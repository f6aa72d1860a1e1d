import { randomBytes } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random characters of `alphabet` (default letters and digits), for generated resource ids. */
export const randomId = (length: number, alphabet = ALNUM) =>
  Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('');
