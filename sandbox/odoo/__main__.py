from sandbox.odoo.cli import odoo_command

if __name__ == "__main__":
    odoo_command(prog_name="python -m sandbox.odoo")
