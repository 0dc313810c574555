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
            imd_id = index.index.get((module, name))
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
    registry = model.env.registry
    messages: list[dict[str, Any]] = []
    ids: list[int] = []
    imd = model.env["ir.model.data"]

    def run() -> None:
        for index, row in enumerate(data):
            try:
                ids.append(_load_one(model, imd, fields, row))
            except _RowError as exc:
                messages.append(_message(str(exc), index, exc.field))
            except (UserError, ValueError, TypeError) as exc:
                text = str(exc.args[0]) if exc.args else str(exc)
                messages.append(_message(text, index, None))
        if messages:
            raise _Abort()

    try:
        registry.savepoint(run)
    except _Abort:
        return {"ids": False, "messages": messages, "nextrow": 0}
    return {"ids": ids, "messages": messages, "nextrow": 0}


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


def _load_one(model: BaseModel, imd: BaseModel, fields: list[str], row: list[Any]) -> int:
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
        model.write_ids([dbid], vals)
        return dbid
    if xmlid:
        module, name = split_xmlid(xmlid)
        found = xmlid_lookup(imd, module, name)
        if found is not None and found[1] in model.table:
            model.write_ids([found[1]], vals)
            return found[1]
        if found is not None:
            imd.unlink_ids([found[2]])
        rec_id = model.create_records([vals])[0]
        imd.create_records(
            [{"module": module, "name": name, "model": model.name, "res_id": rec_id}]
        )
        return rec_id
    return model.create_records([vals])[0]
