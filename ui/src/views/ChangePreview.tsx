import { useMemo } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ChangeRequest } from "../bindings/ChangeRequest";
import { api, describeError, toIpcError } from "../ipc";
import { outcomeMessage } from "../changes";
import { groupPreview, type PrincipalDelta } from "../preview";
import { ErrorNote } from "./Dialog";

/** Previews `change` (null: nothing to preview yet) and saves it. After saving, the effect
 *  shown stays the one previewed before, and `done` holds the outcome sentence. */
export function usePreviewedChange(change: ChangeRequest | null, savedMessage: string) {
  const queryClient = useQueryClient();
  const preview = useQuery({
    queryKey: ["preview_change", change],
    queryFn: () => (change ? api.previewChange(change) : Promise.reject(new Error("nothing to preview"))),
    enabled: change !== null,
    staleTime: Infinity,
  });
  const effect = useMemo(() => (preview.data ? groupPreview(preview.data) : null), [preview.data]);
  const submit = useMutation({
    mutationFn: async (c: ChangeRequest) => {
      const item = await api.submitChange(c);
      // An accepted change leaves the outbox at once; one still there is queued or contested.
      const still = (await api.outbox()).find((e) => e.item.id === item.id);
      return outcomeMessage(still?.item, savedMessage);
    },
    onSettled: () => {
      void queryClient.invalidateQueries({
        predicate: (q) => q.queryKey[0] !== "welcome" && q.queryKey[0] !== "preview_change",
      });
    },
  });
  return {
    preview,
    effect,
    submit,
    ready: change !== null && preview.data !== undefined && !submit.isPending && !submit.isSuccess,
    save: () => {
      if (change) submit.mutate(change);
    },
  };
}

/** Who gains and who loses which permissions. */
export function PreviewPanel({
  effect,
  error,
  after,
  testId,
}: {
  effect: PrincipalDelta[] | null;
  error: unknown;
  after?: boolean;
  testId?: string;
}) {
  if (error) return <ErrorNote message={describeError(toIpcError(error))} />;
  if (!effect) return <p className="muted">Computing the preview…</p>;
  return (
    <div className="preview" aria-live="polite" data-testid={testId}>
      <h3>{after ? "The effect of this change" : "Before saving: the effect of this change"}</h3>
      {effect.length === 0 && <p>No one gains or loses anything.</p>}
      {effect.map((d) => (
        <div key={d.principal} className="preview-person">
          <h4>{d.principal}</h4>
          {d.gains.length > 0 && (
            <p className="delta gain">
              <span className="delta-verb">gains {d.gains.length}:</span> {d.gains.join(", ")}
            </p>
          )}
          {d.losses.length > 0 && (
            <p className="delta loss">
              <span className="delta-verb">loses {d.losses.length}:</span> {d.losses.join(", ")}
            </p>
          )}
        </div>
      ))}
    </div>
  );
}

/** A change dialog's buttons: cancel and save until saved, then only close. */
export function ChangeFooter(props: {
  done: boolean;
  onClose: () => void;
  onSave: () => void;
  label: string;
  disabled: boolean;
  danger?: boolean;
  testId?: string;
  focusCancel?: boolean;
}) {
  if (props.done) {
    return (
      <button type="button" className="primary" onClick={props.onClose} autoFocus>
        Close
      </button>
    );
  }
  return (
    <>
      <button type="button" onClick={props.onClose} autoFocus={props.focusCancel}>
        Cancel
      </button>
      <button
        type="button"
        className={props.danger ? "danger" : "primary"}
        data-testid={props.testId}
        disabled={props.disabled}
        onClick={props.onSave}
      >
        {props.label}
      </button>
    </>
  );
}

/** The outcome line after saving. */
export function Outcome({ message }: { message: string }) {
  return (
    <p className="banner info" role="status">
      {message}
    </p>
  );
}
