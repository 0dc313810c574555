"""x2many command tuples: (0,0,vals) create, (1,id,vals) update, (2,id,0) delete,
(3,id,0) unlink, (4,id,0) link, (5,0,0) clear, (6,0,ids) set. A bare list of ids means set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fields import Field

if TYPE_CHECKING:
    from .model import BaseModel

CREATE, UPDATE, DELETE, UNLINK, LINK, CLEAR, SET = range(7)


def normalize(value: Any) -> list[tuple[Any, ...]]:
    if value in (None, False):
        return [(CLEAR, 0, 0)]
    if not isinstance(value, list | tuple):
        raise ValueError(f"Wrong value for x2many field: {value!r}")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [(SET, 0, list(value))]
    commands = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            commands.append((LINK, item, 0))
            continue
        if not isinstance(item, list | tuple) or not item or item[0] not in range(7):
            raise ValueError(f"Invalid x2many command {item!r}")
        padded = [*list(item), 0, 0][:3]
        commands.append(tuple(padded))
    return commands


def apply(model: BaseModel, rec_id: int, fld: Field, value: Any) -> None:
    assert fld.relation is not None
    comodel = model.env[fld.relation]
    commands = normalize(value)
    if fld.type == "one2many":
        _apply_o2m(model, comodel, rec_id, fld, commands)
    else:
        _apply_m2m(model, comodel, rec_id, fld, commands)


def _apply_o2m(
    model: BaseModel, comodel: BaseModel, rec_id: int, fld: Field, commands: list[tuple[Any, ...]]
) -> None:
    inverse = fld.inverse_name
    assert inverse is not None
    inverse_field = comodel.fields_map[inverse]

    def current() -> list[int]:
        return sorted(comodel.ids_where(inverse, [rec_id]))

    def detach(ids: list[int]) -> None:
        if not ids:
            return
        if inverse_field.required or inverse_field.ondelete == "cascade":
            comodel.unlink_ids(ids)
        else:
            comodel.write_ids(ids, {inverse: False})

    for code, arg, vals in commands:
        if code == CREATE:
            comodel.create_records([{**(vals or {}), inverse: rec_id}])
        elif code == UPDATE:
            comodel.write_ids([int(arg)], dict(vals or {}))
        elif code == DELETE:
            comodel.unlink_ids([int(arg)])
        elif code == UNLINK:
            detach([int(arg)])
        elif code == LINK:
            comodel.write_ids([int(arg)], {inverse: rec_id})
        elif code == CLEAR:
            detach(current())
        elif code == SET:
            wanted = [int(i) for i in vals or []]
            detach([i for i in current() if i not in wanted])
            linked = set(current())
            todo = [i for i in wanted if i not in linked]
            if todo:
                comodel.write_ids(todo, {inverse: rec_id})


def _apply_m2m(
    model: BaseModel, comodel: BaseModel, rec_id: int, fld: Field, commands: list[tuple[Any, ...]]
) -> None:
    ids: list[int] = list(model.table[rec_id].get(fld.name) or [])
    for code, arg, vals in commands:
        if code == CREATE:
            ids.append(comodel.create_records([dict(vals or {})])[0])
        elif code == UPDATE:
            comodel.write_ids([int(arg)], dict(vals or {}))
        elif code == DELETE:
            comodel.unlink_ids([int(arg)])
            ids = [i for i in ids if i != int(arg)]
        elif code == UNLINK:
            ids = [i for i in ids if i != int(arg)]
        elif code == LINK:
            if int(arg) not in ids:
                comodel.check_exists([int(arg)])
                ids.append(int(arg))
        elif code == CLEAR:
            ids = []
        elif code == SET:
            wanted = [int(i) for i in vals or []]
            comodel.check_exists(wanted)
            ids = list(dict.fromkeys(wanted))
    model.env.store.update(model.name, rec_id, {fld.name: ids})
