import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRow } from "../bindings/AuditRow";
import { api, describeError, toIpcError } from "../ipc";
import { ErrorNote } from "./Dialog";

const ROW_HEIGHT = 34;
const PAGE = 100;

interface Form {
  actor: string;
  action: string;
  target: string;
  outcome: "" | "ok" | "denied";
  from: string;
  to: string;
}

const EMPTY: Form = { actor: "", action: "", target: "", outcome: "", from: "", to: "" };

function toFilter(form: Form): AuditFilter {
  const text = (v: string) => (v.trim() === "" ? null : v.trim());
  const time = (v: string) => (v === "" ? null : new Date(v).getTime());
  return {
    actor: text(form.actor),
    action: text(form.action),
    target: text(form.target),
    outcome: text(form.outcome),
    from: time(form.from),
    to: time(form.to),
    before_id: null,
    limit: PAGE,
  };
}

/** The audit trail, online: filters, newest first, paged back as the list scrolls. */
export function AuditView() {
  const people = useQuery({ queryKey: ["people"], queryFn: api.people });
  const [form, setForm] = useState<Form>(EMPTY);
  const [applied, setApplied] = useState<Form>(EMPTY);
  const [open, setOpen] = useState<AuditRow | null>(null);
  const filter = useMemo(() => toFilter(applied), [applied]);

  const pages = useInfiniteQuery({
    queryKey: ["audit", filter],
    queryFn: ({ pageParam }) => api.audit({ ...filter, before_id: pageParam }),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next_before_id,
    retry: false,
  });
  const rows = useMemo(() => pages.data?.pages.flatMap((p) => p.entries) ?? [], [pages.data]);

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length > 0 ? items[items.length - 1]?.index ?? 0 : 0;
  const { hasNextPage, isFetching, fetchNextPage } = pages;
  useEffect(() => {
    // Near the end of what is loaded: page back further.
    if (lastIndex >= rows.length - 5 && hasNextPage && !isFetching) void fetchNextPage();
  }, [lastIndex, rows.length, hasNextPage, isFetching, fetchNextPage]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setApplied(form);
  };
  const set = (k: keyof Form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const error = pages.error ? toIpcError(pages.error) : null;

  return (
    <section className="view fill" aria-labelledby="audit-title">
      <div className="view-head">
        <div>
          <h1 id="audit-title">Audit log</h1>
          <p className="muted">
            Every change and every refused attempt, append-only and hash-chained. Read live from the platform,
            newest first.
          </p>
        </div>
      </div>
      <form className="toolbar audit-filters" onSubmit={submit} aria-label="Audit filters">
        <label>
          Actor
          <select value={form.actor} onChange={set("actor")}>
            <option value="">anyone</option>
            <option value="system">the platform itself</option>
            {(people.data ?? []).map((p) => (
              <option key={p.id} value={`user:${p.id}`}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <input type="text" value={form.action} onChange={set("action")} list="audit-actions" />
          <datalist id="audit-actions">
            {[...new Set(rows.map((r) => r.action))].sort().map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          Target
          <input type="text" value={form.target} onChange={set("target")} title="For example key:3 or project:1" />
        </label>
        <label>
          Outcome
          <select value={form.outcome} onChange={set("outcome")}>
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={form.from} onChange={set("from")} />
        </label>
        <label>
          To
          <input type="datetime-local" value={form.to} onChange={set("to")} />
        </label>
        <button type="submit" className="primary">
          Apply filters
        </button>
        <button
          type="button"
          onClick={() => {
            setForm(EMPTY);
            setApplied(EMPTY);
          }}
        >
          Clear
        </button>
      </form>
      {error && (
        <ErrorNote
          message={
            error.code === "offline"
              ? "The audit log is read live from the platform, which cannot be reached now."
              : describeError(error)
          }
        />
      )}
      <div className="audit-head" role="row">
        <span>When</span>
        <span>Actor</span>
        <span>Action</span>
        <span>Target</span>
        <span>Outcome</span>
        <span>From</span>
      </div>
      <div ref={scrollRef} className="audit-scroll" role="table" aria-label="Audit records" aria-rowcount={rows.length}>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {items.map((v) => {
            const r = rows[v.index];
            if (!r) return null;
            return (
              <button
                key={r.id}
                type="button"
                role="row"
                className={`audit-row outcome-${r.outcome}`}
                style={{ position: "absolute", top: 0, transform: `translateY(${v.start}px)`, height: ROW_HEIGHT }}
                onClick={() => setOpen(r)}
              >
                <span>{new Date(r.at).toLocaleString()}</span>
                <span title={r.actor}>{r.actor_name}</span>
                <span>
                  <code>{r.action}</code>
                </span>
                <span>{r.target}</span>
                <span className={r.outcome === "denied" ? "denied" : ""}>{r.outcome}</span>
                <span className="muted">{r.source}</span>
              </button>
            );
          })}
        </div>
        {!pages.isFetching && rows.length === 0 && !error && <p className="empty">No records match these filters.</p>}
      </div>
      <p className="muted" aria-live="polite">
        {rows.length} record(s) shown
        {pages.isFetchingNextPage ? ", loading older ones…" : pages.hasNextPage ? "; scroll for older ones." : "."}
      </p>
      {open && (
        <div className="card audit-detail" aria-label={`Audit record ${open.id}`}>
          <div className="row-actions">
            <h3>
              Record {open.id}: <code>{open.action}</code> on {open.target}
            </h3>
            <button type="button" className="small" onClick={() => setOpen(null)}>
              Close
            </button>
          </div>
          <p className="muted">
            {new Date(open.at).toLocaleString()} · {open.actor} from {open.source} · hash <code>{open.hash.slice(0, 16)}</code>
          </p>
          <div className="sides">
            <div>
              <h4>Before</h4>
              <pre>{open.before === null ? "none" : JSON.stringify(open.before, null, 2)}</pre>
            </div>
            <div>
              <h4>After</h4>
              <pre>{open.after === null ? "none" : JSON.stringify(open.after, null, 2)}</pre>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
