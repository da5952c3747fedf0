import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { OutboxEntry } from "../bindings/OutboxEntry";
import type { Resolution } from "../bindings/Resolution";
import { api, describeError, toIpcError } from "../ipc";
import { clockTime } from "../format";
import { AgeNote, ErrorNote } from "./Dialog";

interface Props {
  ageText: string;
  onSend: () => void;
  sending: boolean;
}

/** Changes waiting for the platform, and conflicts with both sides shown. */
export function OutboxView({ ageText, onSend, sending }: Props) {
  const queryClient = useQueryClient();
  const outbox = useQuery({ queryKey: ["outbox"], queryFn: api.outbox });
  const resolve = useMutation({
    mutationFn: ({ id, resolution }: { id: number; resolution: Resolution }) => api.resolve(id, resolution),
    onSettled: () => void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "welcome" }),
  });

  if (outbox.error) return <ErrorNote message={describeError(toIpcError(outbox.error))} />;
  const entries = outbox.data ?? [];
  const pending = entries.filter((e) => e.item.state === "pending").length;

  return (
    <section className="view" aria-labelledby="changes-title">
      <div className="view-head">
        <div>
          <h1 id="changes-title">Changes</h1>
          <p className="muted">
            Changes made here wait in this list until the platform accepts them, in order. A change the platform
            moved past is never overwritten silently: choose which side stands.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      <div className="toolbar">
        <button type="button" onClick={onSend} disabled={sending || pending === 0}>
          {sending ? "Sending…" : pending > 0 ? `Send ${pending} queued now` : "Nothing queued to send"}
        </button>
      </div>
      {resolve.error && <ErrorNote message={describeError(toIpcError(resolve.error))} />}
      {entries.length === 0 ? (
        <p className="empty">Nothing is waiting: every change made here has reached the platform.</p>
      ) : (
        <ol className="outbox">
          {entries.map((entry) => (
            <Entry
              key={entry.item.id}
              entry={entry}
              busy={resolve.isPending}
              onResolve={(resolution) => resolve.mutate({ id: entry.item.id, resolution })}
            />
          ))}
        </ol>
      )}
    </section>
  );
}

const STATE_LABEL = { pending: "queued", conflict: "conflict", failed: "refused" } as const;

function Entry({
  entry,
  busy,
  onResolve,
}: {
  entry: OutboxEntry;
  busy: boolean;
  onResolve: (r: Resolution) => void;
}) {
  const { item } = entry;
  const made = clockTime(new Date(item.created_at), new Date());
  return (
    <li className={`outbox-item ${item.state}`} data-testid="outbox-item" data-state={item.state}>
      <div className="outbox-head">
        <span className={`state-tag ${item.state}`}>{STATE_LABEL[item.state]}</span>
        <strong>{entry.summary}</strong>
        <span className="muted">
          made {made}
          {item.base_version !== null ? ` · based on version ${item.base_version}` : ""}
        </span>
      </div>
      {item.state === "conflict" && (
        <div className="sides">
          <div className="side mine">
            <h4>Mine</h4>
            <p>{entry.summary}</p>
            <p className="muted">made from version {item.base_version ?? "unknown"}</p>
          </div>
          <div className="side theirs">
            <h4>Theirs (on the platform now)</h4>
            {entry.theirs.length === 0 ? (
              <p className="muted">The record was removed on the platform.</p>
            ) : (
              <dl>
                {entry.theirs.map((f) => (
                  <div key={f.name}>
                    <dt>{f.name.replace(/_/g, " ")}</dt>
                    <dd>{f.value}</dd>
                  </div>
                ))}
              </dl>
            )}
          </div>
        </div>
      )}
      {item.state === "failed" && <p className="error-note">{item.error}</p>}
      {item.state !== "pending" && (
        <div className="form-actions">
          {item.state === "conflict" && (
            <button type="button" className="primary" disabled={busy} onClick={() => onResolve("keep_mine")}>
              Keep mine
            </button>
          )}
          <button type="button" disabled={busy} onClick={() => onResolve("take_theirs")}>
            {item.state === "conflict" ? "Take theirs" : "Discard"}
          </button>
        </div>
      )}
    </li>
  );
}
