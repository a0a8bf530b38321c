"""The line table's default styles: every colour is a component class, so an app's
stylesheet (``tui/cspctl.tcss``) can restyle any of them; none is spelled in Python."""

TABLE_CSS = """
SyncTable {
    background: $surface;
    color: $foreground;
    height: auto;
    max-height: 100%;

    &:focus {
        background-tint: $foreground 5%;
        & > .synctable--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .synctable--header {
            background-tint: $foreground 5%;
        }
    }
    & > .synctable--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    &:ansi > .synctable--header {
        background: ansi_bright_blue;
        color: ansi_default;
    }
    & > .synctable--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    & > .synctable--hover {
        background: $block-hover-background;
    }
    & > .synctable--good { color: ansi_green; }
    & > .synctable--bad { color: ansi_red; text-style: bold; }
    & > .synctable--warn { color: ansi_yellow; text-style: bold; }
    & > .synctable--error { color: ansi_magenta; text-style: bold; }
    & > .synctable--dim { text-style: dim; }
    /* NO_COLOR: what is wrong stands out by weight and reverse video, never by a
       colour the monochrome filter would turn into a dim grey */
    &:nocolor > .synctable--good { color: $foreground; text-style: none; }
    &:nocolor > .synctable--bad { color: $foreground; text-style: bold reverse; }
    &:nocolor > .synctable--error { color: $foreground; text-style: bold reverse; }
    &:nocolor > .synctable--warn { color: $foreground; text-style: bold; }
}
"""
