"""How the widget looks: its style sheet and the small helpers that put text into HTML."""
from __future__ import annotations

import html
import re
from typing import Any

CSS = """
<style>
.mam-app { font-family: var(--jp-ui-font-family, system-ui, sans-serif); color: var(--jp-ui-font-color1, #222);
  max-width: 1140px; padding: 4px 2px 8px 2px; }
.mam-app .mam-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin: 0 0 2px 2px; }
.mam-app .mam-title { font-size: 17px; font-weight: 650; letter-spacing: .01em; }
.mam-app .mam-subtitle { font-size: 12px; color: var(--jp-ui-font-color2, #666); }
.mam-app .mam-warning { font-size: 12px; color: #7a4b00; background: #fff4d6; border: 1px solid #f3d48b;
  border-radius: 8px; padding: 5px 10px; margin: 2px 0 4px 0; }
.mam-app .mam-toolbar { align-items: center; gap: 6px; flex-wrap: wrap; margin: 4px 0 6px 0; }
.mam-app .mam-toolbar .widget-toggle-buttons .widget-toggle-button { width: auto; padding: 0 12px; }
.mam-app .widget-button > i { pointer-events: none; }  /* a click on a button's icon is a click on the button */
.mam-app .mam-sep { width: 1px; height: 24px; background: var(--jp-border-color2, #ddd); margin: 0 4px; }
.mam-app .mam-panels { gap: 10px; flex-wrap: wrap; align-items: flex-start; }
.mam-app .mam-panel { flex: 1 1 380px; max-width: 552px; background: var(--jp-layout-color1, #fff);
  border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 10px; padding: 8px 10px 10px 10px;
  box-shadow: 0 1px 3px rgba(0,0,0,.06); }
.mam-app .mam-panel-head { display: flex; justify-content: space-between; align-items: center; min-height: 30px;
  margin-bottom: 4px; }
.mam-app .mam-panel-title { font-size: 11px; font-weight: 650; letter-spacing: .06em; text-transform: uppercase;
  color: var(--jp-ui-font-color2, #666); }
.mam-app .mam-hint { font-size: 11px; color: var(--jp-ui-font-color2, #777); }
.mam-app .mam-hint kbd { font-family: inherit; font-size: 10px; border: 1px solid var(--jp-border-color1, #ccc);
  border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; background: var(--jp-layout-color2, #f5f5f5); }
.mam-app img.mam-image, .mam-app img.mam-matte { width: 100%; height: auto; max-width: 100%; display: block;
  border-radius: 6px; background: #1e1e1e; margin: 0; }
.mam-app img.mam-image { cursor: crosshair; user-select: none; -webkit-user-drag: none; }
.mam-app.mam-busy img.mam-image { cursor: progress; }
.mam-app .mam-view .widget-toggle-button { width: auto; padding: 0 10px; font-size: 12px; }
.mam-app .mam-pill { font-size: 11px; border-radius: 999px; padding: 1px 9px; background: var(--jp-layout-color2, #eee);
  color: var(--jp-ui-font-color2, #555); white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  max-width: 640px; }
.mam-app .mam-pill-warn { background: #fff0c2; color: #7a4b00; }
.mam-app .widget-toggle-button.mod-active { background: var(--jp-brand-color1, #1976d2); color: #fff; }
.mam-app .mam-mode button:nth-of-type(1).mod-active { background: #2fa84f; }
.mam-app .mam-mode button:nth-of-type(2).mod-active { background: #e0443a; }
.mam-app .mam-statusbar { margin: 8px 2px 2px 2px; font-size: 12px; }
.mam-app .mam-chips { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.mam-app .mam-details { margin: 5px 2px 0 4px; font-size: 11.5px; color: var(--jp-ui-font-color2, #666); }
.mam-app .mam-details b { color: var(--jp-ui-font-color1, #333); }
.mam-app .mam-action { color: var(--jp-ui-font-color1, #333); }
.mam-app .mam-chip { background: var(--jp-layout-color2, #f1f3f4); border-radius: 999px; padding: 2px 10px;
  white-space: nowrap; }
.mam-app .mam-chip b { font-weight: 650; }
.mam-app .mam-chip.mam-obj { color: #fff; }
.mam-app .mam-chip.mam-computing { color: var(--jp-brand-color1, #1976d2); }
.mam-app .mam-chip.mam-failed { background: #fdecea; color: #8c1d18; }
.mam-app .mam-msg { font-size: 12.5px; border-radius: 8px; padding: 6px 12px; margin: 6px 2px 0 2px; }
.mam-app .mam-msg.error { background: #fdecea; color: #8c1d18; border: 1px solid #f5c2bd; }
.mam-app .mam-msg.ok { background: #e8f5e9; color: #1b5e20; border: 1px solid #b9e0bd; }
.mam-app .mam-msg.info { background: var(--jp-layout-color2, #f1f3f4); color: var(--jp-ui-font-color1, #333); }
.mam-app .mam-busy-indicator { font-size: 12px; color: var(--jp-brand-color1, #1976d2); min-height: 18px; }
.mam-app .mam-spinner { display: inline-block; width: 11px; height: 11px; margin-right: 6px; vertical-align: -1px;
  border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%;
  animation: mam-spin .8s linear infinite; }
@keyframes mam-spin { to { transform: rotate(360deg); } }
.mam-app .mam-tabs { margin-top: 10px; }
.mam-app .mam-tabs .widget-tab-contents, .mam-app .mam-tabs .lm-TabPanel-stackedPanel { padding: 10px 12px; }
.mam-app .mam-row { align-items: center; gap: 8px; flex-wrap: wrap; margin: 2px 0; }
.mam-app .mam-note { font-size: 11.5px; color: var(--jp-ui-font-color2, #777); }
</style>
"""


def esc(text: Any) -> str:
    """``text`` as HTML text or attribute value (quotes escaped too)."""
    return html.escape(str(text), quote=True)


def strip_tags(text: str) -> str:
    """``text`` without its HTML tags (entities stay escaped)."""
    return re.sub(r"<[^>]+>", "", text)
