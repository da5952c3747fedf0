import { memo, useDeferredValue, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type Header,
  type Row,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { MatrixRow } from "../bindings/MatrixRow";
import type { PermissionColumn } from "../bindings/PermissionColumn";
import { api, describeError, toIpcError } from "../ipc";
import { groupByModule, moduleTitle } from "../matrix";
import { AgeNote, ErrorNote } from "./Dialog";
import { afterPaint, frameStats, scrollThrough, useBenchMode } from "../bench";

const ROW_HEIGHT = 30;
/** The drawn cells' height: the row less its 1 px bottom border. */
const MARK_HEIGHT = ROW_HEIGHT - 1;
const CELL_WIDTH = 30;
const NAME_WIDTH = 260;
/** Row slots reused while scrolling; more than any window shows (a 4K screen is ~70 rows). */
const SLOTS = 256;

const column = createColumnHelper<MatrixRow>();

function columnsFor(permissions: PermissionColumn[]): ColumnDef<MatrixRow, unknown>[] {
  const person = column.accessor("name", {
    id: "person",
    size: NAME_WIDTH,
    header: () => "Person · org role",
    cell: (info) => {
      const row = info.row.original;
      return (
        <span className="person-cell">
          <span className={row.active ? "name" : "name inactive"}>{row.name}</span>
          <span className={`role-tag role-${row.role}`}>{row.role}</span>
          {!row.active && <span className="tag">inactive</span>}
          {row.pending && <span className="tag pending">queued change</span>}
        </span>
      );
    },
  });
  // One column group per module (catalog order); the header shows each permission's full name.
  const groups = groupByModule(permissions).map((group, g) =>
    column.group({
      id: `module-${group.module}`,
      header: () => moduleTitle(group.module),
      meta: { band: g % 2 },
      columns: group.columns.map((perm, i) =>
        column.accessor((row) => row.cells[group.start + i] ?? false, {
          id: perm.name,
          size: CELL_WIDTH,
          meta: { band: g % 2, first: i === 0 },
          header: () => (
            <span className="vhead" title={`${perm.label}: ${perm.description}`}>
              {perm.name}
            </span>
          ),
        }),
      ),
    }),
  );
  return [person, ...groups] as ColumnDef<MatrixRow, unknown>[];
}

interface CellMeta {
  band?: number;
  first?: boolean;
}

function cellClass(meta: unknown, base: string): string {
  const m = (meta ?? {}) as CellMeta;
  return `${base}${m.band === 1 ? " band" : ""}${m.first ? " module-start" : ""}`;
}

/** What a row needs to draw one permission's cell: its module band and whether it starts a
 *  module (from the column's meta), and its name for the tooltip. In leaf-column order, which
 *  is catalog order; the permission columns have no cell renderer of their own, `BodyRow` draws
 *  them. */
interface MarkColumn {
  name: string;
  band: boolean;
  first: boolean;
}

function markColumnsFor(leafHeaders: Header<MatrixRow, unknown>[]): MarkColumn[] {
  return leafHeaders
    .filter((header) => header.column.id !== "person")
    .map((header) => {
      const meta = (header.column.columnDef.meta ?? {}) as CellMeta;
      return { name: header.column.id, band: meta.band === 1, first: meta.first === true };
    });
}

/** The colours of the drawn cells, as styles.css gives the header cells and the legend. */
const PAINT = {
  yes: "#1d7a45",
  no: "#b9c0c9",
  // Translucent, so the row's hover colour shows through.
  band: "rgba(40, 70, 120, 0.045)",
  divider: "#f0f2f5",
  moduleStart: "#b9c2ce",
};
/** The allowed mark (a square) and the denied one (a dot), in CSS px. */
const YES_SIZE = 9;
const NO_SIZE = 2;

/** Draws one row's permission cells: band, divider, and the allowed or denied mark. */
function drawMarks(canvas: HTMLCanvasElement, flags: boolean[], marks: MarkColumn[]): void {
  const ratio = window.devicePixelRatio || 1;
  const width = marks.length * CELL_WIDTH;
  const height = MARK_HEIGHT;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const middle = height / 2;
  marks.forEach((mark, i) => {
    const x = i * CELL_WIDTH;
    if (mark.band) {
      ctx.fillStyle = PAINT.band;
      ctx.fillRect(x, 0, CELL_WIDTH, height);
    }
    ctx.fillStyle = mark.first ? PAINT.moduleStart : PAINT.divider;
    ctx.fillRect(x, 0, 1, height);
    const centre = x + CELL_WIDTH / 2 + 0.5;
    if (flags[i]) {
      ctx.fillStyle = PAINT.yes;
      ctx.fillRect(Math.round(centre - YES_SIZE / 2), Math.round(middle - YES_SIZE / 2), YES_SIZE, YES_SIZE);
    } else {
      ctx.fillStyle = PAINT.no;
      ctx.fillRect(Math.round(centre - NO_SIZE / 2), Math.round(middle - NO_SIZE / 2), NO_SIZE, NO_SIZE);
    }
  });
}

/** "Aisha Bello holds 12 of 91: assets.read, …" — what a screen reader says for the marks. */
function heldLabel(name: string, flags: boolean[], marks: MarkColumn[]): string {
  const held = marks.filter((_, i) => flags[i]).map((m) => m.name);
  return held.length === 0
    ? `${name} holds none of the ${marks.length} permissions`
    : `${name} holds ${held.length} of ${marks.length}: ${held.join(", ")}`;
}

/** One person's row. Memoized, and kept in a slot that is reused as the window moves (see the
 *  key in the view): while scrolling only the slots taking a new person render, and the others
 *  are skipped. The permission cells are drawn on one canvas per row instead of ~90 boxes: a
 *  row entering the window is a few elements and ~90 rectangles, not ~90 laid-out boxes to
 *  paint. */
const BodyRow = memo(function BodyRow({
  row,
  index,
  start,
  width,
  marks,
}: {
  row: Row<MatrixRow>;
  index: number;
  start: number;
  width: number;
  marks: MarkColumn[];
}) {
  const person = row.getVisibleCells()[0];
  const flags = row.original.cells;
  const name = row.original.name;
  const canvas = useRef<HTMLCanvasElement>(null);
  useLayoutEffect(() => {
    if (canvas.current) drawMarks(canvas.current, flags, marks);
  }, [flags, marks]);
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      data-testid={`effective-row-${name}`}
      className={row.original.pending ? "grid-row body pending" : "grid-row body"}
      style={{ transform: `translateY(${start}px)`, height: ROW_HEIGHT, width }}
    >
      {person && (
        <div role="gridcell" className="sticky-left body-cell" style={{ width: NAME_WIDTH }}>
          {flexRender(person.column.columnDef.cell, person.getContext())}
        </div>
      )}
      <canvas
        ref={canvas}
        role="gridcell"
        aria-colspan={marks.length}
        aria-label={heldLabel(name, flags, marks)}
        className="marks"
        style={{ width: marks.length * CELL_WIDTH, height: MARK_HEIGHT }}
        onMouseMove={(e) => {
          // The tooltip names the cell under the pointer, as the header's does.
          const i = Math.floor(e.nativeEvent.offsetX / CELL_WIDTH);
          const mark = marks[i];
          const title = mark ? `${name} ${flags[i] ? "has" : "lacks"} ${mark.name}` : "";
          if (e.currentTarget.title !== title) e.currentTarget.title = title;
        }}
      />
    </div>
  );
});

/** The two header rows. Memoized: the view re-renders on every scroll frame (the virtualizer),
 *  and the ~110 header cells never change while scrolling. */
const GridHead = memo(function GridHead({
  moduleHeaders,
  leafHeaders,
}: {
  moduleHeaders: Header<MatrixRow, unknown>[];
  leafHeaders: Header<MatrixRow, unknown>[];
}) {
  return (
    <div className="grid-head" role="rowgroup">
      {moduleHeaders.length > 0 && (
        <div className="grid-row modules" role="row">
          {moduleHeaders.map((header) => (
            <div
              key={header.id}
              role="columnheader"
              className={
                header.isPlaceholder
                  ? "sticky-left head-cell module-head"
                  : cellClass(header.column.columnDef.meta, "head-cell module-head")
              }
              style={{ width: header.getSize() }}
            >
              {header.isPlaceholder ? null : flexRender(header.column.columnDef.header, header.getContext())}
            </div>
          ))}
        </div>
      )}
      <div className="grid-row actions" role="row">
        {leafHeaders.map((header) =>
          header.column.id === "person" ? (
            <div
              key={header.id}
              role="columnheader"
              className="sticky-left head-cell"
              style={{ width: header.getSize() }}
            >
              {flexRender(header.column.columnDef.header, header.getContext())}
            </div>
          ) : (
            <div
              key={header.id}
              role="columnheader"
              className={cellClass(header.column.columnDef.meta, "head-cell")}
              style={{ width: header.getSize() }}
            >
              {flexRender(header.column.columnDef.header, header.getContext())}
            </div>
          ),
        )}
      </div>
    </div>
  );
});

/** People × catalog permissions as the resolver decides them, virtualized for large orgs. */
export function EffectiveMatrixView({ ageText }: { ageText: string }) {
  const [filter, setFilter] = useState("");
  const deferred = useDeferredValue(filter);
  const matrix = useQuery({
    queryKey: ["effective_matrix", deferred],
    queryFn: () => api.effectiveMatrix(deferred),
    placeholderData: keepPreviousData,
  });
  const permissions = matrix.data?.permissions;
  const columns = useMemo(() => (permissions ? columnsFor(permissions) : []), [permissions]);
  const data = useMemo(() => matrix.data?.rows ?? [], [matrix.data]);
  const table = useReactTable({ data, columns, getCoreRowModel: getCoreRowModel() });
  const rows = table.getRowModel().rows;
  // Header groups: the top row holds the module titles (spanning their permissions), the bottom
  // row one header per column, so headers and cells line up one to one.
  const headerGroups = table.getHeaderGroups();
  const moduleHeaders = headerGroups.length > 1 ? (headerGroups[0]?.headers ?? []) : [];
  const leafHeaders = headerGroups[headerGroups.length - 1]?.headers ?? [];
  const marks = useMemo(() => markColumnsFor(leafHeaders), [leafHeaders]);

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    // Enough for a fast wheel step; every extra row is ~90 more cells to lay out each frame.
    overscan: 6,
  });
  const width = table.getTotalSize();

  // STEWARD_BENCH=scroll: scroll the whole matrix, four rows per frame, and report frame times.
  const bench = useBenchMode();
  const loaded = rows.length > 0;
  useEffect(() => {
    const el = scrollRef.current;
    if (bench !== "scroll" || !loaded || !el) return;
    afterPaint(() =>
      scrollThrough(el, 4 * ROW_HEIGHT, (intervals) =>
        void api.benchReport({ rows: rows.length, step_px: 4 * ROW_HEIGHT, ...frameStats(intervals) }),
      ),
    );
    // Once, when the rows first arrive.
  }, [bench, loaded]);

  if (matrix.error) return <ErrorNote message={describeError(toIpcError(matrix.error))} />;

  return (
    <section className="view fill" aria-labelledby="effective-title">
      <div className="view-head">
        <div>
          <h1 id="effective-title">Effective access</h1>
          <p className="muted">
            What each person holds at organization level, as the resolver decides it (role, deactivation and queued
            changes included).
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      <div className="toolbar">
        <label className="inline">
          Filter by name or role
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} spellCheck={false} />
        </label>
        <span className="muted" aria-live="polite">
          {matrix.data ? `${rows.length} ${rows.length === 1 ? "person" : "people"}` : "Loading…"}
        </span>
        <span className="legend">
          <span className="mark yes">■</span> allowed <span className="mark no">·</span> denied
        </span>
      </div>
      <div
        ref={scrollRef}
        className="grid-scroll"
        tabIndex={0}
        role="grid"
        aria-label="Effective access matrix"
        aria-rowcount={rows.length + 1}
        aria-colcount={(permissions?.length ?? 0) + 1}
      >
        <div className="grid" style={{ width }}>
          <GridHead moduleHeaders={moduleHeaders} leafHeaders={leafHeaders} />
          <div className="grid-body" role="rowgroup" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index];
              // Keyed by slot, not by person: a row leaving the window hands its elements and
              // canvas to the one entering, so scrolling creates (and leaves for the garbage
              // collector) nothing. Consecutive indices modulo SLOTS never collide while fewer
              // than SLOTS rows are rendered.
              return row ? (
                <BodyRow
                  key={item.index % SLOTS}
                  row={row}
                  index={item.index}
                  start={item.start}
                  width={width}
                  marks={marks}
                />
              ) : null;
            })}
          </div>
        </div>
      </div>
    </section>
  );
}
