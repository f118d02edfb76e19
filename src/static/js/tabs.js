// The Draw / Upload tabs, with the arrow-key behaviour screen-reader users expect of a tablist.

export class Tabs {
  constructor($tablist) {
    this.$tabs = $tablist.find("[role=tab]");
    this.$tabs
      .on("click", (event) => this.select(event.currentTarget.id))
      .on("keydown", (event) => this.keydown(event));
  }

  select(id, { focus = false } = {}) {
    this.$tabs.each((_, tab) => {
      const selected = tab.id === id;
      $(tab).attr({ "aria-selected": String(selected), tabindex: selected ? "0" : "-1" });
      $(`#${tab.getAttribute("aria-controls")}`).prop("hidden", !selected);
      if (selected && focus) {
        tab.focus();
      }
    });
  }

  keydown(event) {
    const count = this.$tabs.length;
    const index = this.$tabs.index(event.currentTarget);
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: count - 1 }[event.key];
    if (next !== undefined) {
      event.preventDefault();
      this.select(this.$tabs[(next + count) % count].id, { focus: true });
    }
  }
}
