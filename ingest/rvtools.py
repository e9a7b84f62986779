"""Import an RVTools export (xlsx, or its per-sheet csv files) into the store's VM and disk inventory.

vInfo gives the VMs (templates are skipped: ASR cannot replicate them); vDisk gives one disk per
virtual disk, named as vCenter's counters name it ('SCSI controller 0' + unit 1 -> 'scsi0:1'); raw device
mappings say so in their label ('Hard disk 3 (RDM physicalMode)').
Without a vDisk sheet each VM gets one disk 'vm-total' holding the vInfo totals (and vPartition's
used space), the same instance the PowerCLI importer gives VM-level disk.* counters.
Sheets are joined on 'VM ID' when both carry it (names in real exports drift between sheets), else on
the VM name. Stored VMs are matched by ingest.identity's rule and keep their keys, so telemetry
stays attached; values the export leaves blank keep what the store already had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd

from churnplan.core import plausibility, store
from churnplan.ingest.csv_layout import sniff
from churnplan.ingest.errors import IngestError, shorten
from churnplan.ingest.identity import VM_TOTAL_INSTANCE, disk_instance, match_vms

DEFAULT_VCENTER = "rvtools"
SHEETS = ("vInfo", "vDisk", "vPartition")
_UUID_COLUMNS = ("SMBIOS UUID", "BIOS UUID", "VM UUID")


@dataclass
class Sheet:
    """One sheet as read: text-or-number cells, the file it came from, and its VM-name column."""

    name: str
    frame: pd.DataFrame
    file: Path
    vm_column: str

    def line(self, index: int) -> int:
        return int(index) + 2  # the header is row 1

    def fail(self, index: int, column: str, message: str) -> IngestError:
        return IngestError(self.file, self.line(index), f"{self.name}!{column}", message)


@dataclass
class RvtoolsImport:
    """What one export added, and how it lines up with the telemetry in the store."""

    files: tuple[Path, ...]
    run_id: str
    vms: int
    disks: int
    templates_skipped: int
    disks_from: str                        # 'vDisk' or 'vInfo' (one 'vm-total' disk per VM)
    matched: dict[str, int]                # how many VMs matched a stored VM, by rule
    inventory_without_telemetry: list[str] = field(default_factory=list)   # VM names of this export
    telemetry_without_inventory: list[str] = field(default_factory=list)   # stored VMs with samples, unmatched


def import_files(con: duckdb.DuckDBPyConnection, paths: Sequence[str | Path] | str | Path, *,
                 vcenter: str | None = None, progress: Callable[[str], None] | None = None) -> RvtoolsImport:
    """Import one export: an xlsx, or the csv files of one export (each sheet detected by its columns).

    `vcenter` names the vCenter key and limits VM matching to it; otherwise the key is the export's
    'VI SDK Server' column (or 'rvtools') and matching searches the whole store. Exports of different
    vCenters without that column need distinct `vcenter` keys, or their morefs ('vm-41') would collide.
    """
    files = tuple(Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths))
    step = progress or (lambda _msg: None)
    with store.run(con, "rvtools", ", ".join(str(f) for f in files)) as run:
        step("reading")
        sheets = read_export(files)
        step("matching")
        result = _import(con, sheets, files, run.run_id, vcenter)
        run.vms, run.disks, run.samples_added = result.vms, result.disks, 0
        run.detail = (f"disks from {result.disks_from}; {result.templates_skipped} templates skipped; "
                      f"{len(result.inventory_without_telemetry)} VMs without telemetry")
    return result


def read_export(files: tuple[Path, ...]) -> dict[str, Sheet]:
    """The vInfo, vDisk and vPartition sheets of an export; raises IngestError when vInfo is missing."""
    sheets: dict[str, Sheet] = {}
    for path in files:
        if not path.is_file():
            raise IngestError(path, None, None, "no such file")
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            found = _read_xlsx(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            found = _read_csv(path)
        else:
            raise IngestError(path, None, None, "expected an RVTools .xlsx or .csv export")
        for name, sheet in found.items():
            if name in sheets:
                raise IngestError(path, None, None, f"a second {name} sheet (first from {sheets[name].file})")
            sheets[name] = sheet
    if "vInfo" not in sheets:
        raise IngestError(files[0], None, "vInfo", "no vInfo sheet (the VM list) in this export")
    return sheets


def _read_xlsx(path: Path) -> dict[str, Sheet]:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # zip/xml damage: openpyxl raises many kinds
        raise IngestError(path, None, None, f"not a readable xlsx workbook ({_reason(exc)})") from None
    wanted = {n.lower(): n for n in SHEETS}
    out = {}
    with book:
        for actual in book.sheet_names:
            if actual.lower() in wanted:
                name = wanted[actual.lower()]
                try:
                    frame = pd.read_excel(book, sheet_name=actual, dtype=object)
                except Exception as exc:  # a sheet's XML cut short or garbled: lxml/openpyxl raise many kinds
                    raise IngestError(path, None, name, f"sheet cannot be read; the workbook is damaged or cut short "
                                                        f"({_reason(exc)})") from None
                out[name] = _sheet(name, frame, path)
    return out


def _reason(exc: Exception) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 120 else text[:119] + "…"


def _read_csv(path: Path) -> dict[str, Sheet]:
    layout = sniff(path, ())
    try:
        frame = pd.read_csv(path, sep=layout.delimiter, dtype=object, skiprows=layout.skip,
                            encoding="utf-16" if layout.encoding == "utf-16" else "utf-8-sig",
                            keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:  # pandas counts file lines as an editor does (a quoted break aside)
        line = re.search(r"\bline (\d+)", str(exc))
        raise IngestError(path, int(line.group(1)) if line else None, None,
                          f"malformed CSV row ({str(exc).strip().removeprefix('Error tokenizing data. C error: ')})"
                          ) from None
    except UnicodeDecodeError as exc:
        raise IngestError(path, None, None, f"not {layout.encoding.upper()} text past its first lines ({exc.reason}); "
                                            "re-export the sheet as UTF-8") from None
    name = _detect_sheet(set(frame.columns))
    if name is None:
        raise IngestError(path, layout.header_line, None,
                          "not an RVTools vInfo, vDisk or vPartition export (columns not recognised)")
    return {name: _sheet(name, frame, path)}


def _detect_sheet(columns: set[str]) -> str | None:
    if {"Disk", "Capacity MB"} <= columns and ({"Unit #", "Controller", "Disk Mode"} & columns):
        return "vDisk"
    if {"Disk", "Capacity MB", "Consumed MB"} <= columns:
        return "vPartition"
    if {"CPUs", "Memory"} <= columns and "Disk" not in columns:
        return "vInfo"
    return None


def _sheet(name: str, frame: pd.DataFrame, path: Path) -> Sheet:
    frame = frame.rename(columns=lambda c: str(c).strip()).dropna(how="all")
    if frame.columns.empty:
        raise IngestError(path, 1, f"{name}!VM", "sheet has no header row")
    # RVTools puts the VM name first; one real export has a stray title in that header cell.
    vm_column = "VM" if "VM" in frame.columns else frame.columns[0]
    sheet = Sheet(name, frame, path, vm_column)
    blank = frame[vm_column].isna() | (frame[vm_column].astype(str).str.strip() == "")
    if blank.any():
        raise sheet.fail(frame.index[blank][0], vm_column, "VM name is empty")
    return sheet


def _text(sheet: Sheet, column: str) -> pd.Series:
    if column not in sheet.frame.columns:
        return pd.Series(None, index=sheet.frame.index, dtype=object)
    col = sheet.frame[column]
    text = col.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    return text.where(text != "", None)


def _number(sheet: Sheet, column: str, integer: bool = False) -> pd.Series:
    """Numeric column; a cell that is present but not a non-negative number fails the import."""
    text = _text(sheet, column)
    text_obj = text.astype(object)
    thousands = text_obj.str.fullmatch(r"-?\d{1,3}(,\d{3})+").fillna(False).astype(bool)
    cleaned = text_obj.where(~thousands, text_obj.str.replace(",", "", regex=False))
    values = pd.to_numeric(cleaned.str.replace(",", ".", regex=False), errors="coerce")  # else a decimal comma
    bad = text.notna() & (values.isna() | (values < 0))
    if bad.any():
        i = bad.index[bad][0]
        raise sheet.fail(i, column, f"{shorten(text[i])} is not a non-negative number")
    kind, scale = _BOUNDED.get(column, ("count", 1.0))
    for i in values.index[values.notna()]:  # inventory rows number in the thousands at most
        why = plausibility.inventory_fault(float(values[i]) * scale, kind) if kind != "count" else \
            (None if np.isfinite(values[i]) and values[i] < 1e12 else "not a plausible count")
        if why:
            raise sheet.fail(i, column, f"{shorten(text[i])}: {why}")
    return values.round().astype("Int64") if integer else values.astype(float)


# Columns with a plausibility bound (core.plausibility): column -> (kind, factor to the kind's unit).
_BOUNDED = {"CPUs": ("cpus", 1.0), "Memory": ("memory_mb", 1.0), "Provisioned MB": ("disk_gb", 1 / 1024),
            "In Use MB": ("disk_gb", 1 / 1024), "Capacity MB": ("disk_gb", 1 / 1024),
            "Consumed MB": ("disk_gb", 1 / 1024)}


def _flag(sheet: Sheet, column: str) -> pd.Series:
    return _text(sheet, column).str.lower().isin(["true", "1", "yes"])


def _vms(sheet: Sheet, vcenter: str | None) -> tuple[pd.DataFrame, int]:
    templates = _flag(sheet, "Template")
    name = _text(sheet, sheet.vm_column)
    moref = _text(sheet, "VM ID")
    uuid = pd.Series(None, index=sheet.frame.index, dtype=object)
    for col in _UUID_COLUMNS:
        uuid = uuid.fillna(_text(sheet, col))
    key_vc = pd.Series(vcenter, index=sheet.frame.index, dtype=object) if vcenter else \
        _text(sheet, "VI SDK Server").fillna(DEFAULT_VCENTER)
    firmware = _text(sheet, "Firmware").str.lower()
    vms = pd.DataFrame({
        "vcenter": key_vc, "moref": moref, "uuid": uuid, "name": name,
        "host": _text(sheet, "Host"), "cluster": _text(sheet, "Cluster"),
        "guest_os": _text(sheet, "OS according to the VMware Tools").fillna(
            _text(sheet, "OS according to the configuration file")),
        "firmware": firmware.where(firmware.isin(["bios", "efi"]), None),
        "num_cpu": _number(sheet, "CPUs", integer=True), "memory_mb": _number(sheet, "Memory", integer=True),
        "num_nics": _number(sheet, "NICs", integer=True), "power_state": _text(sheet, "Powerstate"),
        "n_disks": _number(sheet, "Disks", integer=True),
        "provisioned_mb": _number(sheet, "Provisioned MB"), "in_use_mb": _number(sheet, "In Use MB"),
        "line": [sheet.line(i) for i in sheet.frame.index],
    })
    vms = vms[~templates]
    # Stable key: the moref where the export has it, else the UUID, else the name (suffixed if repeated).
    fallback = ("uuid:" + vms["uuid"].str.lower()).where(vms["uuid"].notna(), "name:" + vms["name"])
    repeat = vms.groupby(["vcenter", fallback]).cumcount()
    fallback = fallback.where(repeat == 0, fallback + "#" + (repeat + 1).astype(str))
    vms["vm_id"] = vms["moref"].where(vms["moref"].notna(), fallback)
    dupes = vms.duplicated(["vcenter", "vm_id"])
    if dupes.any():
        row = vms[dupes].iloc[0]
        raise IngestError(sheet.file, int(row["line"]), "vInfo!VM ID",
                          f"VM ID {row['vm_id']!r} appears twice in {row['vcenter']!r}")
    return vms.reset_index(drop=True), int(templates.sum())


def _join_key(vms: pd.DataFrame, sheet: Sheet) -> tuple[pd.Series, pd.Series]:
    """Rows of `sheet` -> index into vms (or -1); joined on VM ID when both sides have it, else on name."""
    moref = _text(sheet, "VM ID")
    by_moref = pd.Series(vms.index, index=vms["moref"]).loc[lambda s: s.index.notna()]
    by_moref = by_moref[~by_moref.index.duplicated(keep=False)]
    by_name = pd.Series(vms.index, index=vms["name"])
    by_name = by_name[~by_name.index.duplicated(keep=False)]
    via_moref = moref.map(by_moref) if vms["moref"].notna().any() else pd.Series(np.nan, index=moref.index)
    via_name = _text(sheet, sheet.vm_column).map(by_name)
    return via_moref.fillna(via_name).fillna(-1).astype(int), _flag(sheet, "Template")


def _disks_from_vdisk(vms: pd.DataFrame, sheet: Sheet) -> pd.DataFrame:
    idx, template = _join_key(vms, sheet)
    label_col, ctrl_col = _text(sheet, "Label"), _text(sheet, "Controller")
    unit = _number(sheet, "Unit #", integer=True)
    instance = pd.Series([disk_instance(lbl, u) or disk_instance(c, u)
                          for lbl, c, u in zip(label_col, ctrl_col, unit, strict=True)],
                         index=sheet.frame.index, dtype=object)
    controller = ctrl_col.where(instance.notna() & (ctrl_col.map(lambda c: disk_instance(c, 0)).isna()), label_col)
    disk_label = _text(sheet, "Disk")
    instance = instance.fillna(disk_label)  # no controller/unit columns: the disk's own label is all there is
    capacity = _number(sheet, "Capacity MB") / 1024
    raw = _flag(sheet, "Raw")
    rdm = " (RDM " + _text(sheet, "Raw Comp. Mode").fillna("mode unknown") + ")"
    disks = pd.DataFrame({
        "vm": idx, "instance": instance, "label": disk_label.where(~raw, disk_label + rdm),
        "capacity_gb": capacity, "provisioned_gb": capacity, "used_gb": np.nan,
        "disk_mode": _text(sheet, "Disk Mode"), "controller": controller,
        "line": [sheet.line(i) for i in sheet.frame.index],
    })
    orphan = (disks["vm"] < 0) & ~template
    if orphan.any():
        i = orphan.index[orphan][0]
        raise sheet.fail(i, sheet.vm_column, f"disk of VM {_text(sheet, sheet.vm_column)[i]!r}, "
                                             "which vInfo does not list")
    disks = disks[disks["vm"] >= 0].copy()
    if disks["instance"].isna().any():
        i = disks.index[disks["instance"].isna()][0]
        raise sheet.fail(i, "Unit #", "cannot tell which disk this is (no controller, unit or disk label)")
    dupes = disks.duplicated(["vm", "instance"])
    if dupes.any():
        row = disks[dupes].iloc[0]
        raise IngestError(sheet.file, int(row["line"]), "vDisk!Unit #",
                          f"a second disk on {row['instance']} for VM {vms.at[row['vm'], 'name']!r}")
    number = disks["label"].str.extract(r"(\d+)\s*$", expand=False).astype(float)
    order = disks.assign(_n=number.fillna(np.inf)).sort_values(["vm", "_n", "instance"])
    disks["is_os_disk"] = False
    disks.loc[order.groupby("vm").head(1).index, "is_os_disk"] = True
    return disks.drop(columns="line")


def _disks_from_vinfo(vms: pd.DataFrame, partitions: Sheet | None) -> pd.DataFrame:
    used = vms["in_use_mb"]
    if partitions is not None:
        idx, _ = _join_key(vms, partitions)
        consumed = _number(partitions, "Consumed MB").groupby(idx.values).sum(min_count=1)
        used = pd.Series(consumed.reindex(vms.index).to_numpy(), index=vms.index).fillna(used)
    n = vms["n_disks"]
    label = "all " + n.astype("string").fillna("?") + " disks (vInfo totals; export has no vDisk sheet)"
    disks = pd.DataFrame({
        "vm": vms.index, "instance": VM_TOTAL_INSTANCE, "label": label,
        "capacity_gb": vms["provisioned_mb"] / 1024, "provisioned_gb": vms["provisioned_mb"] / 1024,
        "used_gb": used / 1024, "is_os_disk": None, "disk_mode": None, "controller": None,
    })
    return disks[n.fillna(1).to_numpy() > 0]


def _import(con: duckdb.DuckDBPyConnection, sheets: dict[str, Sheet], files: tuple[Path, ...], run_id: str,
            vcenter: str | None) -> RvtoolsImport:
    vms, templates = _vms(sheets["vInfo"], vcenter)
    if "vDisk" in sheets:
        disks, disks_from = _disks_from_vdisk(vms, sheets["vDisk"]), "vDisk"
    else:
        disks, disks_from = _disks_from_vinfo(vms, sheets.get("vPartition")), "vInfo"

    matched = match_vms(con, vms[["vcenter", "vm_id", "name", "moref", "uuid"]], vcenter)
    hit = matched["matched_by"].notna().to_numpy()
    vms.loc[hit, "vcenter"] = matched.loc[hit, "match_vcenter"].to_numpy()
    vms.loc[hit, "vm_id"] = matched.loc[hit, "match_vm_id"].to_numpy()
    vm_rows = _keep_stored_where_blank(con, vms[store.VM_COLUMNS])
    disk_rows = disks.assign(vcenter=vms["vcenter"].to_numpy()[disks["vm"]],
                             vm_id=vms["vm_id"].to_numpy()[disks["vm"]])[store.DISK_COLUMNS]

    with store.transaction(con):
        n_vms = store.upsert_vms(con, vm_rows)
        n_disks = store.upsert_disks(con, disk_rows)
        for key in vm_rows["vcenter"].unique():
            store.upsert_vcenter(con, key)

    telemetry = store.vms_with_samples(con)
    keys = set(zip(vms["vcenter"], vms["vm_id"], strict=True))
    no_telemetry = sorted(n for n, k in zip(vms["name"], zip(vms["vcenter"], vms["vm_id"], strict=True), strict=True)
                          if k not in telemetry)
    orphans = sorted(k for k in telemetry - keys if vcenter is None or k[0] == vcenter)
    names = store.vm_names(con)
    return RvtoolsImport(
        files, run_id, n_vms, n_disks, templates, disks_from,
        matched["matched_by"].value_counts().to_dict(), no_telemetry,
        [f"{names.get(k, k[1])} ({k[0]}/{k[1]})" for k in orphans])


def _keep_stored_where_blank(con: duckdb.DuckDBPyConnection, vms: pd.DataFrame) -> pd.DataFrame:
    """Fill the export's blank cells from the stored rows of the same VMs, so an import never erases."""
    stored = store.load_vms(con)
    if stored.empty:
        return vms
    merged = vms.merge(stored, on=["vcenter", "vm_id"], how="left", suffixes=("", "_stored"))
    for col in store.VM_COLUMNS[2:]:
        merged[col] = merged[col].astype(object).where(merged[col].notna(), merged[f"{col}_stored"].astype(object))
    return merged[store.VM_COLUMNS]


def summary_line(result: RvtoolsImport) -> str:
    matched = ", ".join(f"{n} by {how}" for how, n in sorted(result.matched.items())) or "none"
    return (f"{result.vms} VMs, {result.disks} disks (from {result.disks_from}); "
            f"{result.templates_skipped} templates skipped; matched stored VMs: {matched}")

