import { type FormEvent, useState } from 'react';

/** Asks for an admin token; it is kept for this browser tab only (sessionStorage). */
export function TokenGate({ error, onSubmit }: { error: string | null; onSubmit: (token: string) => void }) {
  const [value, setValue] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) onSubmit(value.trim());
  };
  return (
    <main className="gate">
      <form className="card gate-form" onSubmit={submit}>
        <h1>batchline monitor</h1>
        <p>Sign in with one of the admin tokens (ADMIN_TOKENS, or ADMIN_READONLY_TOKENS to look only).</p>
        <label htmlFor="token">Admin token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={value}
          onChange={(event) => setValue(event.target.value)}
        />
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
