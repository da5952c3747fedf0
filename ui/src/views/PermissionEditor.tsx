import { useEffect, useMemo, useRef, useState } from "react";
import type { PermissionTree } from "../bindings/PermissionTree";
import type { TreeModule } from "../bindings/TreeModule";
import { api, describeError, toIpcError } from "../ipc";
import { inCatalogOrder, moduleState, toggle, toggleModule, warnings, type Checked } from "../keys";
import { ErrorNote } from "./Dialog";

interface Props {
  tree: PermissionTree;
  checked: Checked;
  onChange: (next: Set<string>) => void;
  /** Editing an enabled key: the IoT document's first warning. */
  keyEnabled?: boolean;
  disabled?: boolean;
}

/** Modules → actions from the catalog, the IoT JSON in and out, and the document's warnings live. */
export function PermissionEditor({ tree, checked, onChange, keyEnabled, disabled }: Props) {
  const live = useMemo(() => warnings(tree, checked, { keyEnabled }), [tree, checked, keyEnabled]);
  return (
    <div className="perm-editor">
      <div className="perm-tree" role="group" aria-label="Permissions">
        {tree.sections.map((section) => (
          <fieldset key={section.source} className="perm-section" disabled={disabled}>
            <legend>{section.label}</legend>
            {section.modules.map((m) => (
              <ModuleRow key={m.module} module={m} tree={tree} checked={checked} onChange={onChange} />
            ))}
          </fieldset>
        ))}
      </div>
      <div className="perm-side">
        <p className="muted">{checked.size === 0 ? "No permissions checked." : `${checked.size} permission(s) checked.`}</p>
        <div className="perm-warnings" aria-live="polite" data-testid="key-warnings">
          {live.map((w) => (
            <p key={`${w.code}-${w.module ?? ""}`} className={`key-warning warn-${w.code}`}>
              {w.message}
            </p>
          ))}
        </div>
        <IotJson tree={tree} checked={checked} onChange={onChange} disabled={disabled} />
      </div>
    </div>
  );
}

function ModuleRow({
  module,
  tree,
  checked,
  onChange,
}: {
  module: TreeModule;
  tree: PermissionTree;
  checked: Checked;
  onChange: (next: Set<string>) => void;
}) {
  const state = moduleState(module, checked);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = state === "some";
  }, [state]);
  const id = `perm-module-${module.module}`;
  return (
    <div className="perm-module">
      <label className="perm-module-name" htmlFor={id}>
        <input
          id={id}
          ref={ref}
          type="checkbox"
          checked={state === "all"}
          onChange={(e) => onChange(toggleModule(module, checked, e.target.checked))}
        />
        {module.label}
        {module.iot_path && <code className="muted"> {module.iot_path}</code>}
      </label>
      <div className="perm-actions">
        {module.actions.map((a) => (
          <label key={a.permission} title={a.description}>
            <input
              type="checkbox"
              checked={checked.has(a.permission)}
              onChange={(e) => onChange(toggle(tree, checked, a.permission, e.target.checked))}
              data-testid={`perm-${a.permission}`}
            />
            {a.verb}
          </label>
        ))}
      </div>
    </div>
  );
}

/** The IoT document's permission object: paste or load it into the tree, or export the tree. */
function IotJson({
  tree,
  checked,
  onChange,
  disabled,
}: {
  tree: PermissionTree;
  checked: Checked;
  onChange: (next: Set<string>) => void;
  disabled?: boolean;
}) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const load = async (source: string) => {
    setNote(null);
    try {
      const names = await api.importKeyJson(source);
      onChange(new Set(names));
      setError(null);
      setNote(`Imported ${names.length} permission(s) into the tree.`);
    } catch (raw) {
      setError(describeError(toIpcError(raw)));
    }
  };
  const exportTree = async () => {
    setError(null);
    try {
      setText(await api.exportKeyJson(inCatalogOrder(tree, checked)));
      setNote("The tree as the IoT document's JSON. Copy it from the box.");
    } catch (raw) {
      setError(describeError(toIpcError(raw)));
    }
  };

  return (
    <div className="iot-json">
      <label htmlFor="iot-json-text">IoT permission JSON</label>
      <textarea
        id="iot-json-text"
        rows={10}
        spellCheck={false}
        value={text}
        disabled={disabled}
        onChange={(e) => setText(e.target.value)}
        data-testid="iot-json"
      />
      <div className="row-actions">
        <button type="button" className="small" disabled={disabled || text.trim() === ""} onClick={() => void load(text)}>
          Apply JSON to tree
        </button>
        <label className="small file-button">
          Load file…
          <input
            type="file"
            accept="application/json,.json"
            className="sr-only"
            disabled={disabled}
            onChange={async (e) => {
              const file = e.target.files?.[0];
              e.target.value = "";
              if (!file) return;
              const content = await file.text();
              setText(content);
              await load(content);
            }}
          />
        </label>
        <button type="button" className="small" onClick={() => void exportTree()}>
          Export tree as JSON
        </button>
        <button
          type="button"
          className="small"
          disabled={text.trim() === ""}
          onClick={() => void navigator.clipboard?.writeText(text)}
        >
          Copy JSON
        </button>
      </div>
      {note && <p className="muted" role="status">{note}</p>}
      {error && <ErrorNote message={error} />}
    </div>
  );
}
