import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { LegacyItem } from "../bindings/LegacyItem";
import { api, describeError, toIpcError } from "../ipc";
import { groupPreview } from "../preview";
import { AgeNote, Dialog, ErrorNote } from "./Dialog";
import { PreviewPanel } from "./ChangePreview";

function status(item: LegacyItem): string {
  if (item.pending) return "change queued";
  if (item.resolved_to === "none") return "removed from the project";
  if (item.resolved_to) return `reviewed: ${item.resolved_to}`;
  return "to review";
}

/** Users the legacy migration made project viewers, why each is listed, and the choice to make. */
export function LegacyView({ ageText, online }: { ageText: string; online: boolean }) {
  const review = useQuery({ queryKey: ["legacy_review"], queryFn: api.legacyReview, retry: false });
  const [choosing, setChoosing] = useState<LegacyItem | null>(null);
  const [showReviewed, setShowReviewed] = useState(true);

  if (review.error) {
    const e = toIpcError(review.error);
    return (
      <ErrorNote
        message={
          e.code === "offline"
            ? "The review list comes from the platform, which cannot be reached, and it has not been read on this computer yet."
            : describeError(e)
        }
      />
    );
  }
  const items = (review.data?.items ?? []).filter((i) => showReviewed || !i.resolved_to);
  const open = (review.data?.items ?? []).filter((i) => !i.resolved_to).length;

  return (
    <section className="view" aria-labelledby="legacy-title">
      <div className="view-head">
        <div>
          <h1 id="legacy-title">Legacy migration review</h1>
          <p className="muted">
            Legacy viewers could run agents; project viewers cannot run anything. Each migrated viewer is listed here:
            choose chat (chat only), viewer (read only) or member (runs agents it is granted).
          </p>
        </div>
        <AgeNote
          text={
            review.data?.cached
              ? `of this list as read ${review.data.fetched_at ? new Date(review.data.fetched_at).toLocaleString() : "earlier"} (offline)`
              : ageText
          }
        />
      </div>
      <div className="toolbar">
        <span>{open === 0 ? "Nothing left to review." : `${open} to review.`}</span>
        <label>
          <input type="checkbox" checked={showReviewed} onChange={(e) => setShowReviewed(e.target.checked)} />
          Show reviewed
        </label>
      </div>
      <div className="table-scroll">
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Project</th>
              <th scope="col">Migrated to</th>
              <th scope="col">Role now</th>
              <th scope="col">Status</th>
              <th scope="col">Why listed</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  {review.isLoading ? "Reading the review list…" : "No migrated viewers to show."}
                </td>
              </tr>
            )}
            {items.map((i) => (
              <tr key={`${i.project_id}-${i.user_id}`} data-testid={`legacy-row-${i.user_name}`}>
                <td>{i.user_name}</td>
                <td>{i.project_name}</td>
                <td>
                  <span className={`role-tag role-${i.migrated_to}`}>{i.migrated_to}</span>
                </td>
                <td>{i.current ? <span className={`role-tag role-${i.current}`}>{i.current}</span> : "none"}</td>
                <td>
                  <span className={i.resolved_to ? "tag" : "tag pending"}>{status(i)}</span>
                </td>
                <td className="muted">{i.why}</td>
                <td>
                  <button type="button" className="small" onClick={() => setChoosing(i)}>
                    Choose role…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {choosing && <ChooseDialog item={choosing} online={online} onClose={() => setChoosing(null)} />}
    </section>
  );
}

function ChooseDialog({ item, online, onClose }: { item: LegacyItem; online: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [role, setRole] = useState(item.current ?? item.migrated_to);
  const [done, setDone] = useState<string | null>(null);
  // Keeping the migrated role is a choice too: saving it marks the person reviewed.
  const changed = role !== item.current || !item.resolved_to;
  const preview = useQuery({
    queryKey: ["preview_legacy", item.user_id, item.project_id, role],
    queryFn: () => api.previewLegacyChoice(item.user_id, item.project_id, role),
    enabled: changed && done === null,
    staleTime: Infinity,
  });
  const effect = useMemo(() => (preview.data ? groupPreview(preview.data) : null), [preview.data]);
  const apply = useMutation({
    mutationFn: () => api.applyLegacyChoice(item.user_id, item.project_id, role),
    onSuccess: (saved) =>
      setDone(
        saved.state === "pending"
          ? "Queued: the platform cannot be reached now. The change is sent when it answers."
          : saved.state === "conflict"
            ? "The project changed on the platform meanwhile. Both sides are in Changes."
            : `Saved: ${item.user_name} is now ${role} on ${item.project_name}.`,
      ),
    onSettled: () => void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "welcome" }),
  });

  return (
    <Dialog
      title={`${item.user_name} on ${item.project_name}`}
      onClose={onClose}
      wide
      footer={
        done ? (
          <button type="button" className="primary" onClick={onClose} autoFocus>
            Close
          </button>
        ) : (
          <>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button
              type="button"
              className="primary"
              disabled={!changed || !preview.data || apply.isPending}
              onClick={() => apply.mutate()}
            >
              {online ? "Save change" : "Queue change"}
            </button>
          </>
        )
      }
    >
      <p className="muted">{item.why}</p>
      <fieldset className="role-choice" disabled={apply.isPending || done !== null}>
        <legend>Project role (now {item.current ?? "none"})</legend>
        {item.options.map((r) => (
          <label key={r}>
            <input type="radio" name="legacy-role" value={r} checked={role === r} onChange={() => setRole(r)} />
            <span className={`role-tag role-${r}`}>{r}</span>
          </label>
        ))}
      </fieldset>
      {!changed ? (
        <p className="muted">
          This choice is already in place. Pick another role to see who gains and who loses which permissions.
        </p>
      ) : (
        <PreviewPanel effect={effect} error={preview.error} />
      )}
      {apply.error && <ErrorNote message={describeError(toIpcError(apply.error))} />}
      {done && (
        <p className="banner info" role="status">
          {done}
        </p>
      )}
    </Dialog>
  );
}
