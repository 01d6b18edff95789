// The "page not found" page: shown in the reader's language (?lang=, saved choice, browser).
import { applyI18n } from "/i18n.js";

applyI18n();
