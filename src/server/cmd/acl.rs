//! `ACL` over the sentinel's own users (§11.1, §17), Redis 7.0's replies and error texts.
//! The model is in `server::acl`; this file only parses arguments and shapes replies.
//! Users set at run time are written into sentinel.conf with the state, or, with an
//! `aclfile`, into that file by `ACL SAVE` (`ACL LOAD` reads it back).

use super::help;
use crate::resp::Value;
use crate::server::acl::{self, Denied, CATEGORIES};
use crate::server::dispatch::lower;
use crate::server::session::Session;
use crate::server::table;

const ACL_HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

const NO_ACL_FILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify \
users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file \
set) in order to store users in the Redis configuration.";

fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

impl Session {
    pub(crate) fn acl(&mut self, args: &[Vec<u8>]) {
        match lower(&args[1]).as_str() {
            "whoami" => self.reply(Value::bulk(self.ext.user.clone())),
            "users" => {
                let names = self.shared.acl().users.keys().map(Value::bulk).collect();
                self.reply(Value::Array(names));
            }
            "list" => {
                let lines = self.shared.acl().users.values().map(|u| Value::bulk(u.describe())).collect();
                self.reply(Value::Array(lines));
            }
            "getuser" => self.acl_getuser(&args[2]),
            "setuser" => {
                let ops: Vec<String> = args[3..].iter().map(|a| text(a)).collect();
                let name = text(&args[2]);
                let result = self.shared.acl_mut().set_user(&name, &ops);
                match result {
                    Ok(()) => self.reply(Value::ok()),
                    Err(e) => self.reply_err(e),
                }
            }
            "deluser" => self.acl_deluser(&args[2..]),
            "cat" => self.acl_cat(args.get(2)),
            "genpass" => self.acl_genpass(args.get(2)),
            "dryrun" => self.acl_dryrun(args),
            "log" => match args.get(2).map(|a| lower(a)) {
                Some(r) if r == "reset" => self.reply(Value::ok()),
                Some(n) if n.parse::<i64>().is_err() => self.reply_err("value is not an integer or out of range"),
                _ => self.reply(Value::Array(vec![])),
            },
            "save" => self.acl_save(),
            "load" => self.acl_load(),
            _ => self.reply(help(ACL_HELP)),
        }
    }

    /// `ACL SAVE`: the users into the `aclfile`.
    fn acl_save(&mut self) {
        let Some(file) = self.shared.ctx.aclfile.clone() else { return self.reply_err(NO_ACL_FILE) };
        let written = acl::write_acl_file(&self.shared.acl(), &file.path);
        match written {
            Ok(()) => self.reply(Value::ok()),
            Err(e) => {
                tracing::warn!(aclfile = %file.shown, error = %e, "ACL SAVE failed");
                self.reply_err(
                    "There was an error trying to save the ACLs. Please check the server logs for more information",
                )
            }
        }
    }

    /// `ACL LOAD`: the users of the `aclfile` replace ours, all or nothing. As in Redis
    /// 7.0, every client was authenticated as a user of the old set, so every client is
    /// disconnected (this one after the reply).
    fn acl_load(&mut self) {
        let Some(file) = self.shared.ctx.aclfile.clone() else { return self.reply_err(NO_ACL_FILE) };
        let loaded = acl::read_acl_file(&file.path, &file.shown).and_then(|lines| acl::Acl::from_acl_file(&lines));
        match loaded {
            Ok(users) => {
                *self.shared.acl_mut() = users;
                let others: Vec<_> =
                    self.shared.clients().values().filter(|e| e.id != self.id).map(|e| e.kill.clone()).collect();
                for kill in others {
                    kill.notify_one();
                }
                self.close = true;
                self.reply(Value::ok());
            }
            Err(e) => self.reply_err(e),
        }
    }

    fn acl_getuser(&mut self, name: &[u8]) {
        let acl = self.shared.acl();
        let Some(u) = acl.users.get(&text(name)) else {
            drop(acl);
            return self.reply(Value::Null);
        };
        let map = Value::Map(vec![
            (Value::bulk("flags"), Value::Set(u.flags().into_iter().map(Value::bulk).collect())),
            (Value::bulk("passwords"), Value::Array(u.passwords.iter().map(Value::bulk).collect())),
            (Value::bulk("commands"), Value::bulk(u.commands_text())),
            (Value::bulk("keys"), Value::bulk(u.keys_text())),
            (Value::bulk("channels"), Value::bulk(u.channels_text())),
            (Value::bulk("selectors"), Value::Array(vec![])),
        ]);
        drop(acl);
        self.reply(map);
    }

    /// Deletes users and disconnects their clients (as Redis does).
    fn acl_deluser(&mut self, names: &[Vec<u8>]) {
        let names: Vec<String> = names.iter().map(|n| text(n)).collect();
        if names.iter().any(|n| n == "default") {
            return self.reply_err("The 'default' user cannot be removed");
        }
        let mut removed = 0;
        {
            let mut acl = self.shared.acl_mut();
            for n in &names {
                removed += i64::from(acl.users.remove(n).is_some());
            }
        }
        let victims: Vec<_> = self
            .shared
            .clients()
            .values()
            .filter(|e| names.contains(&e.user))
            .map(|e| (e.id, e.kill.clone()))
            .collect();
        for (id, kill) in victims {
            if id == self.id {
                self.close = true;
            } else {
                kill.notify_one();
            }
        }
        self.reply(Value::Int(removed));
    }

    fn acl_cat(&mut self, cat: Option<&Vec<u8>>) {
        let Some(cat) = cat else {
            return self.reply(Value::Array(CATEGORIES.iter().map(Value::bulk).collect()));
        };
        let name = lower(cat);
        if !CATEGORIES.contains(&name.as_str()) {
            return self.reply_err(format!("Unknown category '{}'", text(cat)));
        }
        self.reply(Value::Array(acl::commands_in(&name).into_iter().map(Value::bulk).collect()));
    }

    fn acl_genpass(&mut self, bits: Option<&Vec<u8>>) {
        let bits = match bits {
            None => 256,
            Some(b) => match std::str::from_utf8(b).ok().and_then(|s| s.parse::<i64>().ok()) {
                None => return self.reply_err("value is not an integer or out of range"),
                Some(n) if n <= 0 || n > 4096 => {
                    return self.reply_err(
                        "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                    )
                }
                Some(n) => n as usize,
            },
        };
        // From the OS's CSPRNG, as Redis's `getRandomHexChars`.
        match crate::random::hex(bits.div_ceil(4)) {
            Ok(pass) => self.reply(Value::bulk(pass)),
            Err(_) => self.reply_err("Failed to generate a random password"),
        }
    }

    fn acl_dryrun(&mut self, args: &[Vec<u8>]) {
        let name = text(&args[2]);
        let cmd = &args[3..];
        let Some(spec) = table::lookup(&cmd[0]) else {
            return self.reply_err(format!("Command '{}' not found", text(&cmd[0])));
        };
        if !spec.arity_ok(cmd.len()) {
            return self.reply_err(format!("wrong number of arguments for '{}' command", spec.name));
        }
        let acl = self.shared.acl();
        let Some(user) = acl.users.get(&name) else {
            drop(acl);
            return self.reply_err(format!("User '{name}' not found"));
        };
        let verdict = user.check(cmd);
        drop(acl);
        match verdict {
            Ok(()) => self.reply(Value::ok()),
            Err(Denied::Command(c)) => {
                self.reply(Value::bulk(format!("This user has no permissions to run the '{c}' command")))
            }
            Err(Denied::Channel(ch)) => {
                self.reply(Value::bulk(format!("This user has no permissions to access the '{ch}' channel")))
            }
        }
    }
}
