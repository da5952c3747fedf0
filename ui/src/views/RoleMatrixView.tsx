import { useEffect, useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, describeError, toIpcError } from "../ipc";
import { moduleTitle, roleMatrixSections, roleTotals } from "../matrix";
import { AgeNote, ErrorNote } from "./Dialog";
import { afterPaint, benchMark, benchMarks, useBenchMode } from "../bench";

/** Org roles × the permission catalog, one section per module. Each role includes the ones
 *  left of it. */
export function RoleMatrixView({ ageText }: { ageText: string }) {
  const matrix = useQuery({ queryKey: ["role_matrix"], queryFn: api.roleMatrix, staleTime: Infinity });
  const sections = useMemo(() => (matrix.data ? roleMatrixSections(matrix.data) : []), [matrix.data]);
  const totals = useMemo(() => (matrix.data ? roleTotals(matrix.data) : []), [matrix.data]);
  // STEWARD_BENCH=startup: report the time from process start to the painted matrix.
  const bench = useBenchMode();
  const painted = matrix.data !== undefined;
  if (painted) benchMark("role_matrix_data");
  useEffect(() => {
    if (bench === "startup" && painted) benchMark("role_matrix_rendered");
    if (bench === "startup" && painted) afterPaint(() => void api.benchReport({ view: "role_matrix", page_ms: benchMarks() }));
  }, [bench, painted]);

  if (matrix.error) return <ErrorNote message={describeError(toIpcError(matrix.error))} />;
  if (!matrix.data) return <p className="muted">Loading the role matrix…</p>;
  const roles = matrix.data.roles;

  return (
    <section className="view" aria-labelledby="roles-title">
      <div className="view-head">
        <div>
          <h1 id="roles-title">Org role matrix</h1>
          <p className="muted">
            What each organization role allows, from the permission catalog. Roles are incremental: each includes
            everything to its left. Missing means denied.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      <div className="table-scroll">
        <table className="matrix role-matrix">
          <thead>
            <tr>
              <th scope="col" className="perm-col">
                Permission
              </th>
              {roles.map((role, i) => (
                <th key={role} scope="col" className="role-col">
                  <span className="role-name">{role}</span>
                  <span className="muted small">{totals[i]} allowed</span>
                </th>
              ))}
            </tr>
          </thead>
          {sections.map((section) => (
            <tbody key={section.module}>
              <tr className="module-row">
                <th scope="rowgroup" colSpan={roles.length + 1}>
                  {moduleTitle(section.module)}
                </th>
              </tr>
              {section.rows.map((row) => (
                <tr key={row.column.name}>
                  <th scope="row" className="perm-col" title={row.column.description}>
                    <code>{row.column.name}</code>
                    <span className="perm-label">{row.column.label}</span>
                  </th>
                  {row.held.map((held, i) => (
                    <td
                      key={roles[i]}
                      className={held ? "cell yes" : "cell no"}
                      data-testid={`role-cell-${roles[i]}-${row.column.name}`}
                    >
                      {held ? (
                        <span aria-label={`${roles[i]} has ${row.column.name}`}>✓</span>
                      ) : (
                        <span className="sr-only">{`${roles[i]} lacks ${row.column.name}`}</span>
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      </div>
    </section>
  );
}
