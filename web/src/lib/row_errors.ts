// A settings form with a list of rows (the IVR's menu, the STUN/TURN servers) and fields of its
// own: the server's refusals placed next to the control they name. Each form says how it reads
// the server's field names (`placeOf`); row i of the body sent is the row with uid `sent[i]`.
// Pure, unit-tested through the forms' own tests (tests/unit/voice.test.mjs,
// web_call_settings.test.mjs).

/** Where a server's field name points in a form. */
export type Place<Part extends string, Field extends string> =
  | { kind: 'row'; index: number; part: Part }
  | { kind: 'field'; name: Field }
  | { kind: 'other' };

export interface PlacedErrors<Part extends string, Field extends string> {
  /** By row uid, by control: the server's words. */
  rows: Record<number, Partial<Record<Part, string>>>;
  fields: Partial<Record<Field, string>>;
  /** What names no control of the form (the setting as a whole, another setting…). */
  rest: string[];
}

/** The refusals placed: a row's fault by its uid (a row the body did not hold, at `list`, the
 * form's field for the whole list), a field's by name, the rest apart. Two refusals of one
 * control are joined. */
export function placeErrors<Part extends string, Field extends string>(
  errors: readonly { field: string; message: string }[],
  placeOf: (field: string) => Place<Part, Field>,
  sent: readonly number[],
  list: Field,
): PlacedErrors<Part, Field> {
  const out: PlacedErrors<Part, Field> = { rows: {}, fields: {}, rest: [] };
  const join = (was: string | undefined, message: string) => (was ? `${was}; ${message}` : message);
  for (const e of errors) {
    const place = placeOf(e.field);
    const uid = place.kind === 'row' ? sent[place.index] : undefined;
    if (place.kind === 'row' && uid !== undefined) {
      const row = (out.rows[uid] ??= {});
      row[place.part] = join(row[place.part], e.message);
    } else if (place.kind === 'row') {
      out.fields[list] = join(out.fields[list], e.message);
    } else if (place.kind === 'field') {
      out.fields[place.name] = join(out.fields[place.name], e.message);
    } else {
      out.rest.push(e.message);
    }
  }
  return out;
}

/** The client's own findings (codes by row and field) in words, shaped as the refusals are. */
export function problemWords<Part extends string, Field extends string, Code extends string>(
  problems: { rows: Record<number, Partial<Record<Part, Code>>>; fields: Partial<Record<Field, Code>> },
  word: (code: Code) => string,
): { rows: Record<number, Partial<Record<Part, string>>>; fields: Partial<Record<Field, string>> } {
  const say = <K extends string>(codes: Partial<Record<K, Code>>) =>
    Object.fromEntries(Object.entries(codes).map(([k, code]) => [k, word(code as Code)])) as Partial<Record<K, string>>;
  return {
    rows: Object.fromEntries(Object.entries(problems.rows).map(([uid, parts]) => [uid, say(parts as Partial<Record<Part, Code>>)])),
    fields: say(problems.fields),
  };
}
