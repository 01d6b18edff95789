// The time a worker asks about: any time, open now, or open at a chosen week day and time
// ("open at 12:30 on Wednesday", for a lunch break). The choice becomes the API's open_at
// and the open/closed badges of the list and popups.

import { t } from "../i18n.js";
import { h, replaceChildren } from "./dom.js";
import { shanghaiMoment, WEEKDAYS } from "./format.js";

export const WHEN_KINDS = Object.freeze(["any", "now", "at"]);
const DEFAULT_TIME = "12:30";

export class WhenControls {
  /**
   * @param {object} options
   * @param {object} options.els {kind, at, day, time} elements of the sheet (index.html)
   * @param {(when: {kind, day, time}) => void} options.onChange
   */
  constructor({ els, onChange }) {
    this.els = els;
    this.onChange = onChange;
    this.when = { kind: "any", day: shanghaiMoment().day, time: DEFAULT_TIME };
    els.kind.addEventListener("change", () => this._changed());
    els.day.addEventListener("change", () => this._changed());
    els.time.addEventListener("change", () => this._changed());
    this.render();
  }

  /** Set the choice ({kind, day?, time?}); runs onChange. */
  set(when) {
    if (!WHEN_KINDS.includes(when.kind)) throw new Error(`unknown time choice ${when.kind}`);
    if (when.day && !WEEKDAYS.includes(when.day)) throw new Error(`unknown week day ${when.day}`);
    if (when.time && !/^\d{2}:\d{2}$/.test(when.time)) throw new Error(`time must be HH:MM, got ${when.time}`);
    this.when = { ...this.when, ...when };
    this.render();
    this.onChange({ ...this.when });
  }

  _changed() {
    this.when = {
      kind: this.els.kind.value,
      day: this.els.day.value,
      time: this.els.time.value || DEFAULT_TIME,
    };
    this.els.at.hidden = this.when.kind !== "at";
    this.onChange({ ...this.when });
  }

  /** Draw the options in the current language (values kept). */
  render() {
    const { kind, at, day, time } = this.els;
    replaceChildren(
      kind,
      WHEN_KINDS.map((value) => {
        const option = h("option", { value, text: t(`when.${value}`) });
        option.selected = value === this.when.kind;
        return option;
      }),
    );
    replaceChildren(
      day,
      WEEKDAYS.map((value) => {
        const option = h("option", { value, text: t(`day.long.${value}`) });
        option.selected = value === this.when.day;
        return option;
      }),
    );
    time.value = this.when.time;
    at.hidden = this.when.kind !== "at";
  }
}
