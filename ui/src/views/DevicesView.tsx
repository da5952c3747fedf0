import { useDeferredValue, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type SortingState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { listen } from "@tauri-apps/api/event";
import type { DeviceView } from "../bindings/DeviceView";
import type { GroupRollup } from "../bindings/GroupRollup";
import type { LiveEvent } from "../bindings/LiveEvent";
import { api, describeError, toIpcError, type IpcError } from "../ipc";
import {
  chipRollups,
  filterDevices,
  liveHeader,
  NO_FILTER,
  nodeOptionLabel,
  presenceWord,
  rollupText,
  rollupTone,
  when,
  type DeviceFilter,
  type PresenceFilter,
} from "../devices";
import { AgeNote, ErrorNote } from "./Dialog";

const ROW_HEIGHT = 32;
/** Live changes are gathered this long before the view is read again. */
const REFRESH_AFTER_EVENT_MS = 400;

const column = createColumnHelper<DeviceView>();

function presenceRank(d: DeviceView): number {
  return d.online === null ? 0 : d.online ? 2 : 1;
}

function columnsFor(now: Date): ColumnDef<DeviceView, unknown>[] {
  return [
    column.accessor("name", {
      id: "name",
      header: "Device",
      size: 175,
      cell: (info) => <span className="device-name">{info.getValue()}</span>,
    }),
    column.accessor("kind", {
      id: "kind",
      header: "Kind",
      size: 130,
      cell: (info) => <span title={info.getValue()}>{info.getValue()}</span>,
    }),
    column.accessor("path", {
      id: "path",
      header: "Hierarchy",
      size: 270,
      cell: (info) => (info.getValue() ? <span title={info.getValue()}>{info.getValue()}</span> : <span className="muted">not placed</span>),
    }),
    column.accessor((d) => d.group_names.join(", "), {
      id: "groups",
      header: "Logical groups",
      size: 190,
      cell: (info) => (info.getValue() ? <span title={info.getValue()}>{info.getValue()}</span> : <span className="muted">none</span>),
    }),
    column.accessor(presenceRank, {
      id: "presence",
      header: "Presence",
      size: 112,
      sortDescFirst: true,
      cell: (info) => {
        const word = presenceWord(info.row.original);
        return (
          <span className={`presence ${word.replace(" ", "-")}`}>
            <span className="dot" aria-hidden="true" />
            {word}
          </span>
        );
      },
    }),
    column.accessor((d) => d.since ?? 0, {
      id: "since",
      header: "Since",
      size: 125,
      sortDescFirst: true,
      cell: (info) => when(info.row.original.since, now),
    }),
    column.accessor((d) => d.last_seen ?? 0, {
      id: "last_seen",
      header: "Last seen",
      size: 125,
      sortDescFirst: true,
      cell: (info) => when(info.row.original.last_seen, now) || <span className="muted">never</span>,
    }),
    column.accessor("flaps_last_hour", {
      id: "flaps",
      header: "Flaps (1 h)",
      size: 90,
      sortDescFirst: true,
      cell: (info) => <span className={info.getValue() > 0 ? "flaps some" : "flaps"}>{info.getValue()}</span>,
    }),
  ] as ColumnDef<DeviceView, unknown>[];
}

/** Re-reads the view shortly after live presence changes (many arrive together). */
function useLiveRefresh(): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    let timer: number | null = null;
    const unlisten = listen<LiveEvent>("live-presence", () => {
      if (timer !== null) return;
      timer = window.setTimeout(() => {
        timer = null;
        void queryClient.invalidateQueries({ queryKey: ["devices"] });
      }, REFRESH_AFTER_EVENT_MS);
    });
    return () => {
      if (timer !== null) window.clearTimeout(timer);
      void unlisten.then((f) => f());
    };
  }, [queryClient]);
}

function sameRollup(filter: DeviceFilter, r: GroupRollup): boolean {
  return r.kind === "logical" ? filter.group === r.id : filter.node === r.id;
}

/** Devices with their hierarchy path, logical groups and live presence, and each group's
 *  "n online / total"; from the cache, so it opens offline and says how old it is. */
export function DevicesView({ ageText }: { ageText: string }) {
  const [filter, setFilter] = useState<DeviceFilter>(NO_FILTER);
  const text = useDeferredValue(filter.text);
  const [now, setNow] = useState(() => new Date());
  const [startError, setStartError] = useState<IpcError | null>(null);
  const [sorting, setSorting] = useState<SortingState>([]);
  const [active, setActive] = useState(0);

  const view = useQuery({
    queryKey: ["devices"],
    queryFn: api.devices,
    placeholderData: keepPreviousData,
    // Times ("5 min ago") and presence fetched by the periodic sync stay fresh.
    refetchInterval: 30_000,
  });
  useLiveRefresh();

  useEffect(() => {
    api.startLive().then(
      () => setStartError(null),
      (raw) => setStartError(toIpcError(raw)),
    );
    const t = window.setInterval(() => setNow(new Date()), 30_000);
    return () => window.clearInterval(t);
  }, []);

  const data = view.data;
  const shown = useMemo(
    () => (data ? filterDevices(data.devices, { ...filter, text }) : []),
    [data, filter, text],
  );
  const columns = useMemo(() => columnsFor(now), [now]);
  const table = useReactTable({
    data: shown,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  const rows = table.getRowModel().rows;
  const width = table.getTotalSize();
  // Rows and the header reach the grid's right edge when the columns are narrower than the view.
  const fill = `max(${width}px, 100%)`;

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  const activeIndex = Math.min(active, Math.max(rows.length - 1, 0));
  const activeRow = rows[activeIndex];

  const onGridKey = (e: KeyboardEvent) => {
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? ROW_HEIGHT * 10) / ROW_HEIGHT) - 1);
    let next = activeIndex;
    if (e.key === "ArrowDown") next += 1;
    else if (e.key === "ArrowUp") next -= 1;
    else if (e.key === "PageDown") next += page;
    else if (e.key === "PageUp") next -= page;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = rows.length - 1;
    else return;
    e.preventDefault();
    next = Math.max(0, Math.min(rows.length - 1, next));
    setActive(next);
    virtualizer.scrollToIndex(next, { align: "auto" });
  };

  if (view.error) return <ErrorNote message={describeError(toIpcError(view.error))} />;

  const header = data ? liveHeader(data.live, data.age, now) : null;
  const logical = data?.rollups.filter((r) => r.kind === "logical") ?? [];
  const nodes = data?.rollups.filter((r) => r.kind === "hierarchy") ?? [];
  const chips = data ? chipRollups(data.rollups) : [];
  const filtered =
    filter.text.trim() !== "" || filter.group !== null || filter.node !== null || filter.presence !== "all";

  return (
    <section className="view fill devices-view" aria-labelledby="devices-title">
      <div className="view-head">
        <div>
          <h1 id="devices-title">Devices</h1>
          <p className="muted">
            Every device with its place in the hierarchy, its logical groups and whether it is connected now.
            Presence is the platform&apos;s: since when, last seen and flaps in the last hour.
          </p>
        </div>
        <div className="head-badges">
          {header && (
            <span
              className={`live-badge ${header.live ? "live" : "not-live"}`}
              data-testid="live-state"
              role="status"
              title={startError ? describeError(startError) : undefined}
            >
              <span className="dot" aria-hidden="true" />
              {header.text}
            </span>
          )}
          <AgeNote text={ageText} />
        </div>
      </div>

      {data && (
        <div className="chips" role="group" aria-label="Online per group">
          <span className="chip-total" data-testid="devices-total">
            All devices: {rollupText(data)}
          </span>
          {chips.map((r) => {
            const pressed = sameRollup(filter, r);
            return (
              <button
                key={`${r.kind}-${r.id}`}
                type="button"
                className={`chip tone-${rollupTone(r)} ${r.kind}`}
                aria-pressed={pressed}
                title={`${r.kind === "logical" ? "Logical group" : "Hierarchy"} ${r.path}: ${rollupText(r)}`}
                data-testid={`rollup-${r.kind}-${r.id}`}
                onClick={() =>
                  setFilter((f) =>
                    r.kind === "logical"
                      ? { ...f, group: pressed ? null : r.id }
                      : { ...f, node: pressed ? null : r.id },
                  )
                }
              >
                <span className="chip-name">{r.name}</span>
                <span className="chip-count">{rollupText(r)}</span>
              </button>
            );
          })}
        </div>
      )}

      <div className="toolbar">
        <label className="inline">
          Search
          <input
            type="search"
            value={filter.text}
            onChange={(e) => setFilter((f) => ({ ...f, text: e.target.value }))}
            spellCheck={false}
            aria-describedby="devices-search-help"
            data-testid="devices-search"
          />
        </label>
        <span id="devices-search-help" className="sr-only">
          Matches device name, kind, hierarchy path and logical group names.
        </span>
        <label className="inline">
          Logical group
          <select
            value={filter.group ?? ""}
            onChange={(e) => setFilter((f) => ({ ...f, group: e.target.value === "" ? null : Number(e.target.value) }))}
          >
            <option value="">All</option>
            {logical.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} ({rollupText(r)})
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Hierarchy
          <select
            value={filter.node ?? ""}
            onChange={(e) => setFilter((f) => ({ ...f, node: e.target.value === "" ? null : Number(e.target.value) }))}
          >
            <option value="">Whole plant</option>
            {nodes.map((r) => (
              <option key={r.id} value={r.id}>
                {nodeOptionLabel(r)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Presence
          <select
            value={filter.presence}
            onChange={(e) => setFilter((f) => ({ ...f, presence: e.target.value as PresenceFilter }))}
          >
            <option value="all">All</option>
            <option value="online">Online</option>
            <option value="offline">Offline or never seen</option>
          </select>
        </label>
        {filtered && (
          <button type="button" onClick={() => setFilter(NO_FILTER)}>
            Clear filters
          </button>
        )}
        <span className="muted" aria-live="polite" data-testid="devices-count">
          {data ? `${rows.length} of ${data.total} ${data.total === 1 ? "device" : "devices"}` : "Loading…"}
        </span>
      </div>

      {data && data.total === 0 ? (
        <p className="empty">
          No devices in this profile&apos;s cache. Devices appear after a sync, for people whose role may list them
          (devices.list).
        </p>
      ) : (
        <div
          ref={scrollRef}
          className="grid-scroll"
          tabIndex={0}
          role="grid"
          aria-label="Devices"
          aria-rowcount={rows.length + 1}
          aria-colcount={columns.length}
          aria-activedescendant={activeRow ? `device-row-${activeRow.original.id}` : undefined}
          onKeyDown={onGridKey}
          data-testid="devices-grid"
        >
          <div className="grid" style={{ width: fill }}>
            <div className="grid-head" role="rowgroup">
              {table.getHeaderGroups().map((group) => (
                <div key={group.id} className="grid-row devices-head" role="row">
                  {group.headers.map((h) => {
                    const sorted = h.column.getIsSorted();
                    return (
                      <div
                        key={h.id}
                        role="columnheader"
                        aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
                        className={h.column.id === "name" ? "head-cell sticky-left" : "head-cell"}
                        style={{ width: h.getSize() }}
                      >
                        <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>
                          {flexRender(h.column.columnDef.header, h.getContext())}
                          <span className="sort-mark" aria-hidden="true">
                            {sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : ""}
                          </span>
                        </button>
                      </div>
                    );
                  })}
                </div>
              ))}
            </div>
            <div className="grid-body" role="rowgroup" style={{ height: virtualizer.getTotalSize() }}>
              {virtualizer.getVirtualItems().map((item) => {
                const row = rows[item.index];
                if (!row) return null;
                const d = row.original;
                return (
                  <div
                    key={row.id}
                    id={`device-row-${d.id}`}
                    role="row"
                    aria-rowindex={item.index + 2}
                    aria-selected={item.index === activeIndex}
                    data-testid={`device-row-${d.name}`}
                    className={`grid-row body device-row${item.index === activeIndex ? " active" : ""}`}
                    style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT, width: fill }}
                    onClick={() => setActive(item.index)}
                  >
                    {row.getVisibleCells().map((cell) => (
                      <div
                        key={cell.id}
                        role="gridcell"
                        className={cell.column.id === "name" ? "sticky-left body-cell" : "body-cell device-cell"}
                        style={{ width: cell.column.getSize() }}
                      >
                        {flexRender(cell.column.columnDef.cell, cell.getContext())}
                      </div>
                    ))}
                  </div>
                );
              })}
            </div>
          </div>
        </div>
      )}
      {data && data.total > 0 && rows.length === 0 && (
        <p className="empty">No device matches these filters.</p>
      )}
    </section>
  );
}
