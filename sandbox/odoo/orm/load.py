"""``Model.load(fields, rows)``: Odoo's import, a batch upsert keyed by external id.

Every row is converted and written in turn; errors come back as messages, not exceptions. When
any row fails, the whole batch is rolled back and ``ids`` is ``False``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import UserError

if TYPE_CHECKING:
    from .fields import Field
    from .model import BaseModel

TRUE_STRINGS = {"1", "true", "yes"}
FALSE_STRINGS = {"0", "false", "no", "", "none"}


class _RowError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def xmlid_lookup(imd: BaseModel, module: str, name: str) -> tuple[str, int, int] | None:
    """(model, res_id, ir.model.data id) of an external id, through the unique index."""
    for index in imd.env.registry.unique_indexes(imd):
        if index.fields == ("module", "name"):
            imd_id = index.find((module, name))
            if imd_id is None:
                return None
            row = imd.table[imd_id]
            return (str(row["model"]), int(row["res_id"]), imd_id)
    raise AssertionError("ir.model.data has no (module, name) index")


def split_xmlid(xmlid: str) -> tuple[str, str]:
    module, _, name = xmlid.rpartition(".")
    return (module or "__import__", name)


def _convert(model: BaseModel, fld: Field, sub: str, raw: Any, label: str) -> Any:
    env = model.env
    if isinstance(raw, str):
        raw = raw.strip()
    if fld.type in ("many2one", "many2many", "one2many"):
        assert fld.relation is not None
        if raw in ("", None, False):
            return False if fld.type == "many2one" else [(6, 0, [])]
        items = [raw] if fld.type == "many2one" else [r for r in str(raw).split(",") if r.strip()]
        found: list[int] = []
        for item in items:
            item = str(item).strip()
            if sub == ".id":
                found.append(int(item))
            elif sub == "id":
                module, name = split_xmlid(item)
                res = xmlid_lookup(env["ir.model.data"], module, name)
                if res is None or res[0] != fld.relation:
                    raise _RowError(
                        f"No matching record found for external id '{item}' in field '{label}'",
                        fld.name,
                    )
                found.append(res[1])
            else:
                comodel = env[fld.relation]
                hits = sorted(comodel.name_search_ids(item, "="))
                if not hits:
                    raise _RowError(
                        f"No matching record found for name '{item}' in field '{label}'", fld.name
                    )
                found.append(hits[0])
        return found[0] if fld.type == "many2one" else [(6, 0, found)]
    if fld.type == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower()
        if text in TRUE_STRINGS:
            return True
        if text in FALSE_STRINGS:
            return False
        raise _RowError(f"Unknown value '{raw}' for boolean field '{label}'", fld.name)
    if raw in ("", None):
        return False
    if fld.type == "integer":
        try:
            return int(raw)
        except (TypeError, ValueError) as exc:
            raise _RowError(
                f"'{raw}' does not seem to be an integer for field '{label}'", fld.name
            ) from exc
    if fld.type in ("float", "monetary"):
        try:
            return float(raw)
        except (TypeError, ValueError) as exc:
            raise _RowError(
                f"'{raw}' does not seem to be a number for field '{label}'", fld.name
            ) from exc
    if fld.type == "selection":
        for key, text in fld.selection or []:
            if raw in (key, text):
                return key
        raise _RowError(f"Value '{raw}' not found in selection field '{label}'", fld.name)
    return raw


def load_rows(model: BaseModel, fields: list[str], data: list[list[Any]]) -> dict[str, Any]:
    """Rows that create records are created in batches; when a batch fails, the whole load is
    replayed row by row so that each error names its row."""
    registry = model.env.registry
    imd = model.env["ir.model.data"]
    messages: list[dict[str, Any]] = []
    ids: list[int] = []

    def run(batched: bool) -> None:
        messages.clear()
        ids.clear()
        pending: list[tuple[int, dict[str, Any], tuple[str, str] | None]] = []
        slots: list[int | None] = []

        def flush() -> None:
            if not pending:
                return
            try:
                created = model.create_records([vals for _i, vals, _x in pending])
            except (UserError, ValueError, TypeError) as exc:
                raise _BatchFailed() from exc
            xmlids = []
            for (index, _vals, xmlid), rec_id in zip(pending, created, strict=True):
                slots[index] = rec_id
                if xmlid is not None:
                    xmlids.append(
                        {
                            "module": xmlid[0],
                            "name": xmlid[1],
                            "model": model.name,
                            "res_id": rec_id,
                        }
                    )
            if xmlids:
                imd.create_records(xmlids)
            pending.clear()

        seen: set[tuple[str, str]] = set()
        for index, row in enumerate(data):
            slots.append(None)
            try:
                vals, xmlid, rec_id = _prepare(model, imd, fields, row)
                if rec_id is not None:
                    model.write_ids([rec_id], vals)
                    slots[index] = rec_id
                elif batched and (xmlid is None or xmlid not in seen):
                    if xmlid is not None:
                        seen.add(xmlid)
                    pending.append((index, vals, xmlid))
                else:
                    flush()
                    slots[index] = _create_one(model, imd, vals, xmlid)
            except _RowError as exc:
                messages.append(_message(str(exc), index, exc.field))
            except (UserError, ValueError, TypeError) as exc:
                if batched:
                    raise _BatchFailed() from exc
                text = str(exc.args[0]) if exc.args else str(exc)
                messages.append(_message(text, index, None))
        if messages and batched:
            raise _BatchFailed()  # replay row by row: rows still pending may fail too
        flush()
        ids.extend(i for i in slots if i is not None)
        if messages:
            raise _Abort()

    try:
        try:
            registry.savepoint(lambda: run(batched=True))
        except _BatchFailed:
            registry.savepoint(lambda: run(batched=False))
    except _Abort:
        return {"ids": False, "messages": list(messages), "nextrow": 0}
    return {"ids": list(ids), "messages": list(messages), "nextrow": 0}


class _BatchFailed(Exception):
    pass


class _Abort(Exception):
    pass


def _message(text: str, index: int, field: str | None) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "type": "error",
        "message": text,
        "record": index,
        "rows": {"from": index, "to": index},
    }
    if field:
        msg["field"] = field
    return msg


def _prepare(
    model: BaseModel, imd: BaseModel, fields: list[str], row: list[Any]
) -> tuple[dict[str, Any], tuple[str, str] | None, int | None]:
    """(values, external id to create, id of the existing record to update)."""
    if len(row) != len(fields):
        raise _RowError(f"Row has {len(row)} cells but {len(fields)} fields were given")
    vals: dict[str, Any] = {}
    xmlid: str | None = None
    dbid: int | None = None
    for path, raw in zip(fields, row, strict=True):
        if path == "id":
            xmlid = str(raw).strip() if raw not in (None, False, "") else None
            continue
        if path == ".id":
            dbid = int(raw) if raw not in (None, False, "") else None
            continue
        base, _, sub = path.partition("/")
        fld = model.fields_map.get(base)
        if fld is None or base in ("create_date", "write_date", "create_uid", "write_uid"):
            raise _RowError(f"Unknown field '{path}' on model '{model.name}'", path)
        vals[base] = _convert(model, fld, sub, raw, fld.string)
    if dbid is not None:
        return vals, None, dbid
    if not xmlid:
        return vals, None, None
    module, name = split_xmlid(xmlid)
    found = xmlid_lookup(imd, module, name)
    if found is not None and found[1] in model.table:
        return vals, None, found[1]
    if found is not None:
        imd.unlink_ids([found[2]])
    return vals, (module, name), None


def _create_one(
    model: BaseModel, imd: BaseModel, vals: dict[str, Any], xmlid: tuple[str, str] | None
) -> int:
    rec_id = model.create_records([vals])[0]
    if xmlid is not None:
        imd.create_records(
            [{"module": xmlid[0], "name": xmlid[1], "model": model.name, "res_id": rec_id}]
        )
    return rec_id
