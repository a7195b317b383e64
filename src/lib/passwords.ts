/** bcrypt password hashes as Zou stores them ($2b$, input truncated to 72 bytes), through Bun.password. */

function truncate(password: string): string {
  const bytes = new TextEncoder().encode(password);
  if (bytes.length <= 72) return password;
  return new TextDecoder().decode(bytes.slice(0, 72));
}

export async function hashPassword(password: string, cost = 12): Promise<string> {
  return Bun.password.hash(truncate(password), { algorithm: "bcrypt", cost });
}

const DUMMY_HASH = "$2b$04$C6UzMDM.H6dfI/f/IKxGhuV7CqTz3Gk6z1uX9bX3zM5l8d9K1m8eW";

/** Compares a password with a stored hash; an empty or invalid hash runs a dummy check and fails. */
export async function verifyPassword(password: string, hash: unknown): Promise<boolean> {
  const stored = hash instanceof Uint8Array ? new TextDecoder().decode(hash) : typeof hash === "string" ? hash : "";
  if (!stored.startsWith("$2")) {
    await Bun.password.verify("dummy", DUMMY_HASH).catch(() => false);
    return false;
  }
  try {
    return await Bun.password.verify(truncate(password), stored.replace(/^\$2y\$/, "$2b$"));
  } catch {
    return false;
  }
}
