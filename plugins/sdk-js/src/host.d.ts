// The host's one import in the `switchyard:routing` world: a line for its log. The component
// build (componentize-js) binds it; it exists nowhere else.
declare module "log" {
  export default function log(message: string): void;
}
